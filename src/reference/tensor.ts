/** A tensor given by value, as every twin takes it: row-major float32 data and its shape (a runtime `Tensor` is one too). */
export interface ReferenceTensor {
  data: Float32Array;
  shape: readonly number[];
}
