/**
 * Probes: the task's own example arguments, varied (shorter, emptier, reversed, off by one), called on
 * an answer in the sandbox, and what each call gives. Answers that pass every example can still
 * differ off them (HumanEval/70's code raised on an odd-length list; /68's returned `[inf, -1]` where
 * no value was even): where several independent answers agree on the probes and the code does not,
 * the code is the odd one out. No expected values are needed, only agreement.
 */
import { createHash } from 'node:crypto';
import { namedApis } from '../../common/task-names';
import { taskExamples } from '../../common/task-examples';

/** At most this many probes a run; each call is cut off after PROBE_CALL_SECONDS. */
export const MAX_PROBES = 48;
export const PROBE_CALL_SECONDS = 1;

/** What the harness reads: the module to load, the function, and the examples' argument lists. */
export interface ProbeSpec {
  function: string;
  /** Each example's arguments as Python source, without the call's parentheses: `[4, 2, 3], 1`. */
  args: string[];
  max: number;
  seconds: number;
}

/**
 * The probe spec of a Python task: the one function its examples call (the most called, when they call
 * several) and those calls' arguments. Undefined when the task states no examples.
 */
export function probeSpec(description: string): ProbeSpec | undefined {
  const names = namedApis(description);
  const examples = taskExamples(description, names, 24, 'python');
  const byName = new Map<string, string[]>();
  for (const { call } of examples) {
    const name = names.find((n) => call.startsWith(`${n}(`) && call.endsWith(')'));
    if (name) byName.set(name, [...(byName.get(name) ?? []), call.slice(name.length + 1, -1)]);
  }
  const [name, args] = [...byName.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
  return name && args ? { function: name, args, max: MAX_PROBES, seconds: PROBE_CALL_SECONDS } : undefined;
}

/** A short, stable name for one call's outcome: answers agree on a probe when these are equal. */
export function outcomeKey(outcome: string): string {
  return createHash('sha256').update(outcome).digest('hex').slice(0, 16);
}

/**
 * The harness, run as `python3 __sophia_probe__.py <spec.json> <module.py> {report}` in the sandbox.
 * Arguments are read with `ast.literal_eval` (an example that is not plain literals is skipped);
 * variants change one argument at a time. Each call gets deep copies, a time limit and no stdout;
 * its outcome is the result's normalised repr (floats to 6 places, sets sorted, containers cut to
 * their first 100 items, 20 below the top, 4 levels), or the exception's
 * type, or `timeout` (once three calls have timed out, or after 15 s in all, the rest are not made
 * and count as `timeout`). Writes `[[probe, outcome], …]` as JSON to the report.
 */
export const PROBE_HARNESS = String.raw`
import ast, copy, importlib.util, io, json, math, os, signal, sys, contextlib

spec = json.load(open(sys.argv[1]))
module_path, report_path = sys.argv[2], sys.argv[3]

def variants(v, depth=0):
    out = []
    if isinstance(v, bool):
        out.append(not v)
    elif isinstance(v, int):
        out += [0, 1, v + 1, v - 1, v * 2, -v, v + 7]
    elif isinstance(v, float):
        out += [0.0, v + 0.5, v * 2, -v, round(v)]
    elif isinstance(v, str):
        out += ['', v[:1], v[:-1], v[1:], v[::-1], v + v[:1], v.upper(), v.lower(), v + ' ' + v]
    elif isinstance(v, (list, tuple)):
        t = type(v)
        out += [t(), t(v[:1]), t(v[:-1]), t(v[1:]), t(v[::-1]), t(list(v) + list(v[:1])), t(list(v) + list(v[-1:]))]
        if depth == 0:
            for i, x in enumerate(list(v)[:3]):
                for y in variants(x, depth + 1)[:4]:
                    out.append(t(list(v)[:i] + [y] + list(v)[i + 1:]))
    elif isinstance(v, dict):
        out.append({})
        for k in list(v)[:3]:
            out.append({a: b for a, b in v.items() if a != k})
    return out

def norm(x, depth=0):
    if depth > 3:
        return '...'
    room = 100 if depth == 0 else 20
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, float):
        return 'nan' if math.isnan(x) else repr(round(x, 6) + 0.0)
    if isinstance(x, (list, tuple)):
        return type(x).__name__ + '[' + ','.join(norm(y, depth + 1) for y in list(x)[:room]) + ']'
    if isinstance(x, (set, frozenset)):
        return 'set[' + ','.join(sorted(norm(y, depth + 1) for y in x)[:room]) + ']'
    if isinstance(x, dict):
        return 'dict[' + ','.join(sorted(norm(k, depth + 1) + ':' + norm(v, depth + 1) for k, v in list(x.items())[:room])) + ']'
    return type(x).__name__ + ':' + repr(x)[:300]

examples = []
for text in spec['args']:
    try:
        examples.append(tuple(ast.literal_eval('(' + text + ',)')) if text.strip() else ())
    except Exception:
        pass
seen = set(repr(e) for e in examples)
probes = []
for args in examples:
    for i, value in enumerate(args):
        for v in variants(value):
            candidate = args[:i] + (v,) + args[i + 1:]
            key = repr(candidate)
            if key not in seen and len(probes) < spec['max']:
                seen.add(key)
                probes.append(candidate)

class Timeout(BaseException):
    pass

def on_alarm(signum, frame):
    raise Timeout()

signal.signal(signal.SIGALRM, on_alarm)
results = []
try:
    sys.path.insert(0, os.path.dirname(os.path.abspath(module_path)))
    loader = importlib.util.spec_from_file_location('__sophia_answer__', module_path)
    module = importlib.util.module_from_spec(loader)
    signal.setitimer(signal.ITIMER_REAL, spec['seconds'] * 5)
    with contextlib.redirect_stdout(io.StringIO()):
        loader.loader.exec_module(module)
    signal.setitimer(signal.ITIMER_REAL, 0)
    fn = getattr(module, spec['function'])
except BaseException as e:
    signal.setitimer(signal.ITIMER_REAL, 0)
    fn = None
    load_error = 'load:' + type(e).__name__
import time
deadline = time.monotonic() + spec['seconds'] * 15
hung = 0
for args in probes:
    if fn is None:
        outcome = load_error
    elif hung >= 3 or time.monotonic() > deadline:
        outcome = 'timeout'
    else:
        try:
            signal.setitimer(signal.ITIMER_REAL, spec['seconds'])
            with contextlib.redirect_stdout(io.StringIO()):
                value = fn(*copy.deepcopy(args))
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcome = norm(value)
        except Timeout:
            hung += 1
            outcome = 'timeout'
        except BaseException as e:
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcome = 'raise:' + type(e).__name__
    results.append([repr(args)[1:-1].rstrip(',')[:200], outcome[:2000]])
with open(report_path, 'w') as f:
    json.dump(results, f)
`;
