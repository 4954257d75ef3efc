import type { CholeskyDecomposition } from 'ml-matrix';

/**
 * A⁻¹ from A's Cholesky factor: ml-matrix's `chol.solve(Matrix.eye(n))`, with every element computed by the same
 * operations in the same order (so the same doubles), on flat arrays, by rows, and skipping the identity's zeros (an
 * exact skip: subtracting a product with +0 leaves a double unchanged). The GP refits its hyperparameters by BFGS,
 * inverting its kernel matrix at every step: this was most of a search's CPU time.
 */
export function choleskyInverse(chol: CholeskyDecomposition): number[][] {
  const Lm = chol.lowerTriangularMatrix;
  const n = Lm.rows;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = Lm.get(i, j);
  const B = new Float64Array(n * n);
  for (let i = 0; i < n; i++) B[i * n + i] = 1;
  // Forward: L·Y = I. Row k of Y is nonzero only in columns ≤ k.
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i < k; i++) {
      const lki = l[rk + i]!;
      const ri = i * n;
      for (let j = 0; j <= i; j++) B[rk + j] = B[rk + j]! - B[ri + j]! * lki;
    }
    const lkk = l[rk + k]!;
    for (let j = 0; j <= k; j++) B[rk + j] = B[rk + j]! / lkk;
  }
  // Backward: Lᵀ·X = Y.
  for (let k = n - 1; k >= 0; k--) {
    const rk = k * n;
    for (let i = k + 1; i < n; i++) {
      const lik = l[i * n + k]!;
      const ri = i * n;
      for (let j = 0; j < n; j++) B[rk + j] = B[rk + j]! - B[ri + j]! * lik;
    }
    const lkk = l[rk + k]!;
    for (let j = 0; j < n; j++) B[rk + j] = B[rk + j]! / lkk;
  }
  return Array.from({ length: n }, (_, i) => Array.from(B.subarray(i * n, (i + 1) * n)));
}
