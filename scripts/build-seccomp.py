#!/usr/bin/python3
"""Compiles the sandbox's seccomp policy (activities/sandbox/seccomp-policy.txt) into a BPF program
that bwrap loads with --seccomp. Uses libseccomp's Python bindings (Debian: python3-seccomp), so run it
with the system python: /usr/bin/python3 scripts/build-seccomp.py POLICY OUT.

Fails (exit 1, with the line) on an unknown action, flag or condition; skips syscalls this
architecture does not have. Writes OUT atomically.
"""
import errno
import os
import sys

import seccomp

FLAGS = {
    "CLONE_NEWTIME": 0x00000080,
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


def rules(policy):
    with open(policy, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) not in (2, 5) or (len(words) == 5 and (words[2] != "arg0" or words[3] != "&")):
                sys.exit(f"{policy}:{number}: expected `ACTION SYSCALL [arg0 & FLAG]`, got: {line}")
            action, name = words[0], words[1]
            if not hasattr(errno, action):
                sys.exit(f"{policy}:{number}: unknown errno {action}")
            flag = None
            if len(words) == 5:
                if words[4] not in FLAGS:
                    sys.exit(f"{policy}:{number}: unknown flag {words[4]} (known: {', '.join(FLAGS)})")
                flag = FLAGS[words[4]]
            yield number, getattr(errno, action), name, flag


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: build-seccomp.py POLICY OUT")
    policy, out = sys.argv[1], sys.argv[2]
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    count = 0
    for number, code, name, flag in rules(policy):
        try:
            seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        except ValueError:
            continue  # not a syscall of this architecture
        conditions = [seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)] if flag is not None else []
        try:
            filt.add_rule(seccomp.ERRNO(code), name, *conditions)
        except Exception as err:  # noqa: BLE001 - libseccomp raises bare errors; name the line
            sys.exit(f"{policy}:{number}: libseccomp rejected the rule for {name}: {err}")
        count += 1
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        filt.export_bpf(f)
    os.replace(tmp, out)
    print(f"seccomp: {count} rules from {policy} -> {out}")


if __name__ == "__main__":
    main()
