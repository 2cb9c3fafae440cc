"""Runs one Automation API operation on an inline program that is the
program() of examples/python/__main__.py.

Usage: python driver.py up|preview|destroy request.json

The request names the project, stack, work dir, program file and config; the
result (outputs, change summary, resource steps) is one JSON line on stdout,
and the engine's own output goes to stderr.
"""

import importlib.util
import json
import sys

from pulumi import automation as auto


def load_program(path):
    # Loaded under another name than __main__, so its top-level call does not run.
    spec = importlib.util.spec_from_file_location("ristio_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.program


def main():
    op, request_path = sys.argv[1:3]
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    stack = auto.create_or_select_stack(
        stack_name=req["stack"],
        project_name=req["project"],
        program=load_program(req["program"]),
        opts=auto.LocalWorkspaceOptions(work_dir=req["workDir"]),
    )
    stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in req["config"].items()})

    steps = []

    def on_event(event):
        pre = event.resource_pre_event
        if pre is not None:
            m = pre.metadata
            steps.append({"op": m.op.value, "type": m.type, "urn": m.urn})

    def on_output(line):
        print(line, file=sys.stderr)

    result = {"steps": steps}
    if op == "up":
        r = stack.up(on_output=on_output, on_event=on_event)
        result["summary"] = r.summary.resource_changes
        result["outputs"] = {k: v.value for k, v in r.outputs.items()}
    elif op == "preview":
        r = stack.preview(on_output=on_output, on_event=on_event)
        result["summary"] = r.change_summary
    elif op == "destroy":
        r = stack.destroy(on_output=on_output, on_event=on_event)
        result["summary"] = r.summary.resource_changes
    else:
        raise SystemExit(f"unknown operation {op}")
    result["summary"] = {getattr(k, "value", k): n for k, n in (result["summary"] or {}).items()}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
