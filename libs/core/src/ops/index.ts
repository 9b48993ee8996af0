/**
 * The ops core adds to tfjs-core, one op per file with its kernel and gradient beside it:
 * importing this module registers the gradients of the stock kernels the model differentiates
 * through (gradients/), and exports the fused inner-loop ops (register-fused.ts installs their
 * native kernels with the native BatchMatMul).
 */
import './gradients';

export { addRowsRelu } from './add-rows-relu';
export { fusedKernelsActive } from './fused-kernel';
export { matMulAcc } from './matmul-acc';
export { reluGrad } from './relu-grad';
