// The Pulumi program: `pulumi up` runs this file. The mesh itself is declared
// in program.ts, so other code (tests, a bigger program) can reuse it.
import { program } from "./program";

export const { gatewayAddresses, networks, meshStatus } = program();
