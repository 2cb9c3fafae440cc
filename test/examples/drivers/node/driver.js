// Runs one Automation API operation on an inline program that is the compiled
// examples/ts program. Usage: node driver.js up|preview|destroy request.json
// The request names the project, stack, work dir, program module and config;
// the result (outputs, change summary, resource steps) is one JSON line on
// stdout, and the engine's own output goes to stderr.
"use strict";
const fs = require("fs");
const auto = require("@pulumi/pulumi/automation");

async function main() {
    const [op, requestPath] = process.argv.slice(2);
    const req = JSON.parse(fs.readFileSync(requestPath, "utf8"));
    // Loaded inside the run, as `pulumi up` would load index.ts.
    const program = async () => require(req.program).program();
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName: req.stack, projectName: req.project, program },
        { workDir: req.workDir },
    );
    const config = {};
    for (const [key, value] of Object.entries(req.config)) {
        config[key] = { value };
    }
    await stack.setAllConfig(config);

    const steps = [];
    const opts = {
        onOutput: (s) => process.stderr.write(s),
        onEvent: (e) => {
            const m = e.resourcePreEvent && e.resourcePreEvent.metadata;
            if (m) {
                steps.push({ op: m.op, type: m.type, urn: m.urn });
            }
        },
    };
    const result = { steps };
    if (op === "up") {
        const r = await stack.up(opts);
        result.summary = r.summary.resourceChanges;
        result.outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
    } else if (op === "preview") {
        result.summary = (await stack.preview(opts)).changeSummary;
    } else if (op === "destroy") {
        result.summary = (await stack.destroy(opts)).summary.resourceChanges;
    } else {
        throw new Error(`unknown operation ${op}`);
    }
    process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => {
    process.stderr.write(`driver: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
});
