/**************************************************************************/
/*  pte_validator.h                                                       */
/**************************************************************************/
/*  The pre-validator the engine runs on every .pte program before        */
/*  ExecuTorch sees it (ExecuTorchModel::load_from_file).                 */
/*                                                                        */
/*  Why: ExecuTorch's prebuilt runtime verifies only the flatbuffer's     */
/*  structure. Many semantic errors a corrupt or hostile file can carry   */
/*  then end in ET_CHECK -> abort(), a null or wild pointer (SIGSEGV,     */
/*  SIGBUS), a division by zero (SIGFPE) or an uncaught std::bad_alloc,   */
/*  and take the game down. The crash classes and the checks that close   */
/*  them (ids refer to the research report, ExecuTorch 1.5.1):            */
/*  - out-of-range indices: method inputs/outputs (get_input asserts),    */
/*    instruction arguments, list items, operator indices (a bad index    */
/*    leaves an uninitialized kernel pointer that execute() calls),       */
/*    delegates, segments, constants, planned memory (H*, S1, C2, M1, N1, */
/*    P3, V2, V4, V5, I1, I2, I6);                                        */
/*  - EValue kind confusion (toTensor() & co. assert): every KernelCall   */
/*    slot against the kinds its kernel unboxes, from the operator table  */
/*    generated from torch's schemas (pte_operators.gen.h); prim-op       */
/*    results, MoveCall and list items keep their declared kinds (I3,     */
/*    I7, I10);                                                           */
/*  - tensors without data: every tensor an instruction reads or writes   */
/*    has constant, planned or input data, or gets it from an et_view or  */
/*    MoveCall that runs before it on every path (V3); no FreeCall (I9);  */
/*  - writes into read-only memory: kernel and delegate outputs are       */
/*    neither constants (mapped read-only) nor method inputs (V3b, I4);   */
/*  - resource exhaustion: planned memory, tensor sizes, counts (P4, V1,  */
/*    Limits);                                                            */
/*  - fields ExecuTorch dereferences unchecked: method names, operator    */
/*    overloads, delegate payloads and compile specs (P1, P2, O1, D1,     */
/*    D2);                                                                */
/*  - kernel preconditions that trap: embedding index dtype, view sizes   */
/*    (-1 with 0), conv/pool groups, strides, dilations and paddings,     */
/*    sym_size dims, integer division in prim ops, gelu's approximation,  */
/*    arange's count, dtype arguments (K1-K5);                            */
/*  - the XNNPACK payload: header and flatbuffer, value definitions,      */
/*    constant sizes against their bytes, external ids against the call's */
/*    arguments (count, dtype, shape), graph order and aliasing, and the  */
/*    full shape rule of every node type accepted; other node types,      */
/*    quantized values and every backend but XnnpackBackend are refused  */
/*    (X1-X9).                                                            */
/*  The flatbuffer is read by its own bounds-checked reader              */
/*  (pte_flatbuffer.h): no input makes the validator read outside the     */
/*  buffer. Allocations are capped by Limits before they are made. Only   */
/*  the flatbuffer and the delegate metadata are touched, never the       */
/*  weights, so the time does not grow with the model (microseconds).     */
/*                                                                        */
/*  Deliberately not protected (no static check can):                     */
/*  - data-dependent faults: index values inside input tensors, integer   */
/*    division by a zero element, a dynamic dimension that is 0 at run    */
/*    time reaching a -1 view size;                                       */
/*  - kernel internals beyond the listed preconditions: ExecuTorch's      */
/*    other ET_CHECK sites were read to follow the kernels' own argument  */
/*    checks, which is not a proof for every operator;                    */
/*  - XNNPACK internals (weight packing, fusion, threads) beyond the      */
/*    shape rules checked here; a trial run in a child process is the     */
/*    only complete backstop;                                             */
/*  - the file changing after validation: validate the very bytes handed  */
/*    to ExecuTorch (read or map the file once).                          */
/*  It is stricter than ExecuTorch: backward jumps, FreeCall, external    */
/*  (.ptd) data, non-CPU devices, quantized XNNPACK graphs and node types */
/*  outside the checked set are refused although some would run.         */
/**************************************************************************/

#pragma once

#include "pte_limits.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace pte {

struct OperatorKinds; // one entry of the generated operator table (pte_operator_table.h)

// "" when the program is acceptable; else one sentence naming the problem
// precisely (which method, which value/instruction/operator/delegate index,
// what is wrong), for a game developer. p_data is the whole file, 16-byte
// aligned or better; nothing outside [p_data, p_data + p_size) is read.
std::string validate_program(const uint8_t *p_data, size_t p_size, const Limits &p_limits);

} // namespace pte
