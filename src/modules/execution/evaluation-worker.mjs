// Entry of the evaluation pool's worker threads (evaluator.ts). Workers start without the parent's loader flags,
// so TypeScript support is registered here, the same way whether the gateway runs under tsx or a test runner.
import { register } from "tsx/esm/api";

register();
const { default: evaluate, parseFlowTask, parseBodyTask, parseGraphqlBodyTask, decodeRunRequestTask } = await import("./evaluation-worker.ts");

export default evaluate;
export { decodeRunRequestTask, parseBodyTask, parseFlowTask, parseGraphqlBodyTask };
