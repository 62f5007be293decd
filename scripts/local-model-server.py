"""Serves a local GGUF code model over llama.cpp's own OpenAI-compatible HTTP server (xllamacpp).

`npm start` supervises this process when no model is configured (see scripts/stack.ts); it is one more
process of the stack, restarted if it dies. Listens on 127.0.0.1 only.

    python3 scripts/local-model-server.py --model .tools/models/X.gguf --port 8091 --alias qwen2.5-coder-1.5b \
        --ctx 16384 --parallel 2 --threads 2
"""

import argparse
import signal
import sys
import threading


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="path of the .gguf file")
    parser.add_argument("--alias", required=True, help="the model name the endpoint answers to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=16384, help="context tokens, shared by the slots")
    parser.add_argument("--parallel", type=int, default=2, help="concurrent requests (slots)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import xllamacpp  # imported late: --help works without it

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = [args.host]
    params.port = args.port
    params.cont_batching = True
    params.warmup = False

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"local model {args.alias} listening on http://{args.host}:{args.port}/v1", flush=True)
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
