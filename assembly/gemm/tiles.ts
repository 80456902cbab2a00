// gemm's tile and block sizes. The kernel test harness and the per-kernel bench read them through
// the module's exports (GEMM_* in assembly/index.ts), so their edge cases follow any change here.

/** Columns per packed B panel (two f32x4). */
export const NR: i32 = 8;
/** Rows per main packed micro-kernel tile. */
export const MR: i32 = 4;
/** k block: a packed panel is KC·NR·4 = 16 KiB and stays in L1 (32 KiB) while row tiles of A
 *  pass over it; the packed block KC·n·4 bytes (3 MiB for n = 1536) is the scratch. */
export const KC: i32 = 512;
/** Row block: A[i0:i0+MC, k0:k0+KC] is 256 KiB and stays in L2 (1 MiB) while the panels pass.
 *  (KC 512 / MC 128 measured best of 128–512 / 64–256 on 1024³ and 2048×512×1024.) */
export const MC: i32 = 128;
/** Below this many rows of A the unpacked (rows) kernels are used: with two rows per tile they
 *  match the packed path up to m ≈ 16 (B re-read m/2 times from L2 vs packing it); packed wins
 *  from m = 32 (measured n 256–1536, k 512). */
export const DIRECT_M: i32 = 16;
/** Column ranges split at multiples of this give bit-identical results to one whole call: every
 *  column keeps its tile (2×16 rows tiles, 8-wide packed panels, 4-wide dot tiles). */
export const NB: i32 = 16;
