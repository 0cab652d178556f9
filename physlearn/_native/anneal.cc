// physlearn's native CPU kernels for the simulated-annealing chains
// (physlearn.algorithms.annealing): a block of Metropolis moves per chain in one loop, and the
// threefry-2x32 random bits that jax.random.bits draws for the block.
//
// Both are XLA FFI handlers (jax.ffi), built on first use by physlearn._native with the system's
// C++ compiler. Their results are bit for bit those of the jax.numpy path they replace
// (Chain._move and jax.random.bits): every float that decides a move (the acceptance log
// uniforms, the data scale, the interaction log-ratios) is computed by XLA and passed in; the
// kernel does the integer bookkeeping, one float multiply and one float add per move, in the
// same order as the jax.numpy expression (compiled without floating-point contraction).
//
// Layouts (row-major; every input carries the leading chain axis C, vmap_method="broadcast_all"):
//   spins   int8  (C, Yx, K, N)  the y replicas, then the explicit reference (Yx = y + 1) if any
//   stab    int32 (C, y, K, M)   integer stabilities
//   iv      int32 (C, y + 7)     the y data energies, then since, stuck, moves, accepted, updates,
//                                best and the block's first schedule update (the tables' origin)
//   gave_up int8  (C,)
//   xs      int8  (C, Kx, N, M)  signed inputs sigma^mu xi^mu_(k)i (Kx = K for trees, else 1)
//   spin    uint32 (C, B)        the random bits of the proposed spin (reduced modulo the number
//                                of spins and split into (a, k, i) here, as annealing._split_spin)
//   log_u   F     (C, B)         log of the acceptance uniform
//   scale   F     (C, T)         the data scale at each schedule update the block can reach
//   ltab    F     (C, T, L)      the interaction log-ratio at each update, per interaction key

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int32_t kBig = 1 << 28;  // the cost of a unit that is not wrong (annealing._BIG)
constexpr int kCounters = 7;       // since, stuck, moves, accepted, updates, best, origin

enum Variant : int32_t { kStandard = 0, kTraced = 1, kExplicit = 2, kQuantum = 3 };
enum Energy : int32_t { kMinflip = 0, kErrors = 1 };

struct Shape {
  int32_t y, yx, K, N, M, kx;
  int32_t variant, energy;
  int64_t schedule_every, give_up, max_steps;
  bool stop;
  int64_t B, T, L;
};

// int32 arithmetic that wraps like XLA's (no undefined behaviour on overflow)
inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// Data energy of one replica whose row k is replaced by `row_k` (the other rows from `stab`):
// annealing._energies summed over the patterns. Laid out as the jax.numpy path computes it --
// whole rows of M patterns at a time, the K units' costs ordered by the same odd-even
// transposition network -- so that every loop over the patterns is a vector loop. `votes` (M)
// and `cost` (K M) are scratch.
int32_t replica_energy(const Shape& s, const int32_t* stab, int k, const int32_t* row_k,
                       int32_t* votes, int32_t* cost) {
  const int M = s.M, K = s.K;
  auto row = [&](int u) { return u == k ? row_k : stab + static_cast<int64_t>(u) * M; };
  uint32_t total = 0;  // wraps like XLA's int32 sum
  if (K == 1) {
    if (s.energy == kErrors) {
      for (int m = 0; m < M; ++m) total += static_cast<uint32_t>(row_k[m]) >> 31;
    } else {  // (1 - v) / 2 for v < 0, else 0 (v = 0 included)
      for (int m = 0; m < M; ++m) total += static_cast<uint32_t>(std::max(0, 1 - row_k[m]) >> 1);
    }
    return static_cast<int32_t>(total);
  }
  std::fill(votes, votes + M, 0);
  for (int u = 0; u < K; ++u) {
    const int32_t* r = row(u);
    for (int m = 0; m < M; ++m) votes[m] += r[m] > 0 ? 1 : -1;
  }
  if (s.energy == kErrors) {
    for (int m = 0; m < M; ++m) total += static_cast<uint32_t>(votes[m]) >> 31;
    return static_cast<int32_t>(total);
  }
  for (int u = 0; u < K; ++u) {  // a wrong unit costs (1 - v) / 2 flips, a right one kBig
    const int32_t* r = row(u);
    int32_t* c = cost + static_cast<int64_t>(u) * M;
    for (int m = 0; m < M; ++m) c[m] = r[m] < 0 ? (1 - r[m]) / 2 : kBig;
  }
  for (int rnd = 0; rnd < K; ++rnd) {  // sort the K costs of every pattern
    for (int j = rnd % 2; j < K - 1; j += 2) {
      int32_t* c0 = cost + static_cast<int64_t>(j) * M;
      int32_t* c1 = c0 + M;
      for (int m = 0; m < M; ++m) {
        const int32_t lo = std::min(c0[m], c1[m]), hi = std::max(c0[m], c1[m]);
        c0[m] = lo;
        c1[m] = hi;
      }
    }
  }
  // the n_fix = max(0, floor((1 - votes) / 2)) cheapest (at most (K + 1) / 2 of them)
  const int max_count = std::min(K, (K + 1) / 2);
  for (int j = 0; j < max_count; ++j) {
    const int32_t* c = cost + static_cast<int64_t>(j) * M;
    for (int m = 0; m < M; ++m) {
      const int32_t nfix = std::max(0, 1 - votes[m]) >> 1;
      total += static_cast<uint32_t>(j < nfix ? c[m] : 0);
    }
  }
  return static_cast<int32_t>(total);
}

// The stabilities of one chain during a block, and the data energy of a proposed flip.
//
// GenericRows works on the int32 rows in place (any K). PerceptronRows (K = 1, |stab| <= N <
// 2^15) keeps an int16 copy with the patterns padded to a multiple of 16 (stability +1 and zero
// inputs: no energy), so that a move's energy is a fixed number of full 256-bit vector steps;
// the rows are written back at the end of the block.
struct GenericRows {
  const Shape& s;
  int32_t* st;        // (y, K, M)
  const int8_t* x;    // (kx, N, M)
  int32_t* shifted;   // (M,)
  int32_t* votes;     // (M,)
  int32_t* cost;      // (K, M)
  int32_t e_new(int ar, int k, int i, int32_t w2) {
    const int64_t KM = static_cast<int64_t>(s.K) * s.M;
    const int32_t* row = st + ar * KM + static_cast<int64_t>(k) * s.M;
    const int8_t* xc = column(k, i);
    for (int m = 0; m < s.M; ++m) shifted[m] = row[m] - w2 * xc[m];
    return replica_energy(s, st + ar * KM, k, shifted, votes, cost);
  }
  void accept(int ar, int k, int, int32_t) {
    const int64_t KM = static_cast<int64_t>(s.K) * s.M;
    std::memcpy(st + ar * KM + static_cast<int64_t>(k) * s.M, shifted, sizeof(int32_t) * s.M);
  }
  const int8_t* column(int k, int i) const {
    return x + (static_cast<int64_t>(s.kx > 1 ? k : 0) * s.N + i) * s.M;
  }
  void finish() {}
};

template <Energy E>
struct PerceptronRows {
  static constexpr int kLanes = 16;
  const Shape& s;
  int32_t* st;  // (y, 1, M), written back by finish()
  int64_t Mp;
  std::vector<int16_t> rows;  // (y, Mp)
  std::vector<int8_t> xp;     // (N, Mp)
  PerceptronRows(const Shape& s_, int32_t* st_, const int8_t* x)
      : s(s_), st(st_), Mp((s_.M + kLanes - 1) / kLanes * kLanes),
        rows(static_cast<size_t>(s_.y) * Mp, 1), xp(static_cast<size_t>(s_.N) * Mp, 0) {
    for (int a = 0; a < s.y; ++a)
      for (int m = 0; m < s.M; ++m) rows[a * Mp + m] = static_cast<int16_t>(st[a * s.M + m]);
    for (int i = 0; i < s.N; ++i) std::memcpy(&xp[i * Mp], x + static_cast<int64_t>(i) * s.M, s.M);
  }
  int32_t e_new(int ar, int, int i, int32_t w2) {
    const int16_t* row = &rows[ar * Mp];
    const int8_t* xc = &xp[i * Mp];
    const int16_t w2s = static_cast<int16_t>(w2);
    int32_t total = 0;
    for (int64_t m0 = 0; m0 < Mp; m0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const int16_t v = static_cast<int16_t>(row[m0 + l] - w2s * xc[m0 + l]);
        if (E == kErrors) {
          total += v < 0;
        } else {  // (1 - v) / 2 for v < 0, else 0 (v = 0 included)
          total += static_cast<int16_t>(std::max<int16_t>(0, static_cast<int16_t>(1 - v)) >> 1);
        }
      }
    }
    return total;
  }
  void accept(int ar, int, int i, int32_t w2) {
    int16_t* row = &rows[ar * Mp];
    const int8_t* xc = &xp[i * Mp];
    const int16_t w2s = static_cast<int16_t>(w2);
    for (int64_t m = 0; m < Mp; ++m) row[m] = static_cast<int16_t>(row[m] - w2s * xc[m]);
  }
  void finish() {
    for (int a = 0; a < s.y; ++a)
      for (int m = 0; m < s.M; ++m) st[a * s.M + m] = rows[a * Mp + m];
  }
};

// The interaction key of flipping spin `a` of the column `col` (Yx entries): the index into the
// log-ratio table (annealing.Chain._native_keys builds the table from the same keys).
inline int64_t interaction_key(const Shape& s, const int8_t* col, int a) {
  const int y = s.y;
  switch (s.variant) {
    case kTraced: {
      int S = 0;
      for (int b = 0; b < y; ++b) S += col[b];
      return static_cast<int64_t>(S + y) * 2 + (col[a] > 0);
    }
    case kExplicit: {
      const int wc = col[y];
      if (a == y) {
        int S = 0;
        for (int b = 0; b < y; ++b) S += col[b];
        return 2 + (wc * S + y);
      }
      return wc * col[a] > 0;
    }
    case kQuantum: {
      const int nb = col[(a + 1) % y] + col[(a + y - 1) % y];
      return (col[a] * nb + 2) / 2;
    }
    default:
      return 0;
  }
}

// Division of 32-bit unsigned integers by a divisor fixed for the block: one 64 x 64 -> 128-bit
// multiply instead of a hardware division (D. Lemire, O. Kaser, N. Kurz, "Faster remainder by
// direct computation", Software: Practice and Experience 49, 953 (2019)); exact for every 32-bit
// numerator.
struct Divisor {
  uint32_t d;
  uint64_t c;
  explicit Divisor(uint32_t d_) : d(d_), c(d_ > 1 ? ~uint64_t{0} / d_ + 1 : 0) {}
  uint32_t div(uint32_t n) const {
    return d == 1 ? n : static_cast<uint32_t>((static_cast<__uint128_t>(c) * n) >> 64);
  }
  uint32_t mod(uint32_t n) const {
    return d == 1 ? 0 : static_cast<uint32_t>((static_cast<__uint128_t>(c * n) * d) >> 64);
  }
};

template <typename F, typename Rows>
void chain_moves(const Shape& s, int64_t c, Rows& rows, int8_t* spins, int32_t* iv,
                 const int8_t* gave_up, const uint32_t* spin, const F* log_u, const F* scale,
                 const F* ltab, int8_t* col) {
  const int y = s.y, K = s.K, N = s.N, M = s.M;
  const int64_t KN = static_cast<int64_t>(K) * N;
  const int64_t KM = static_cast<int64_t>(K) * M;
  int8_t* W = spins + c * s.yx * KN;
  int32_t* v = iv + c * (y + kCounters);
  const uint32_t* sp = spin + c * s.B;
  const Divisor div_spins(static_cast<uint32_t>(s.yx * KN)), div_kn(static_cast<uint32_t>(KN)),
      div_n(static_cast<uint32_t>(N));
  const F* lu = log_u + c * s.B;
  const F* sc = scale + c * s.T;
  const F* lt = ltab + c * s.T * s.L;
  const bool gave = gave_up[c] != 0;

  int32_t* energy = v;
  int32_t since = v[y], stuck = v[y + 1], moves = v[y + 2], accepted = v[y + 3];
  int32_t updates = v[y + 4], best = v[y + 5];
  const int32_t origin = v[y + 6];

  for (int64_t t = 0; t < s.B; ++t) {
    int32_t emin = energy[0];
    for (int b = 1; b < y; ++b) emin = std::min(emin, energy[b]);
    bool act = moves < s.max_steps && !gave && stuck < s.give_up;
    if (s.stop) act = act && emin > 0;
    int64_t j = static_cast<int64_t>(updates) - origin;
    j = std::min<int64_t>(std::max<int64_t>(j, 0), s.T - 1);
    const F bd = sc[j];

    // the proposed spin: (bits mod n_spins) = (a K + k) N + i, as annealing._split_spin
    const uint32_t r = div_spins.mod(sp[t]);
    const uint32_t a_ = div_kn.div(r);
    const int a = static_cast<int>(a_);
    const int64_t rem = r - a_ * static_cast<uint32_t>(KN);  // k N + i
    const int k = K == 1 ? 0 : static_cast<int>(div_n.div(static_cast<uint32_t>(rem)));
    const int i = static_cast<int>(rem - static_cast<int64_t>(k) * N);
    const bool is_ref = a == y;
    const int ar = std::min(a, y - 1);
    for (int b = 0; b < s.yx; ++b) col[b] = W[b * KN + rem];
    const int32_t w = col[a];

    int32_t e_new = 0, dE = 0;
    const int32_t w2 = 2 * w;
    if (!is_ref) {
      e_new = rows.e_new(ar, k, i, w2);
      dE = e_new - energy[ar];
    }
    const F L = lt[j * s.L + interaction_key(s, col, a)];
    const F data_term = dE == 0 ? F(0) : -bd * static_cast<F>(dE);
    const F dlog = data_term + L;
    const bool accept = (lu[t] < dlog) && act;
    const bool improving = accept && (dlog > F(0));
    if (accept) {
      W[a * KN + rem] = static_cast<int8_t>(-w);
      if (!is_ref) {
        rows.accept(ar, k, i, w2);
        energy[ar] = e_new;
      }
    }
    since += accept;
    const bool upd = since >= s.schedule_every;
    if (upd) since = 0;
    stuck = improving ? 0 : stuck + act;
    moves += act;
    accepted += accept;
    updates += upd;
    emin = energy[0];
    for (int b = 1; b < y; ++b) emin = std::min(emin, energy[b]);
    best = std::min(best, emin);
  }
  v[y] = since;
  v[y + 1] = stuck;
  v[y + 2] = moves;
  v[y + 3] = accepted;
  v[y + 4] = updates;
  v[y + 5] = best;
  rows.finish();
}

// Run f(lo, hi) over [0, n) in chunks on XLA's intra-op thread pool. Every participant (the
// calling thread and the tasks it schedules) claims chunks from one counter until none is left;
// the caller then waits only for chunks already claimed, so a pool that never runs the tasks
// (busy, or shared with another device's call) costs parallelism, never a deadlock.
template <typename Fn>
void parallel_chains(ffi::ThreadPool& pool, int64_t n, const Fn& f) {
  const int64_t threads = pool.num_threads();
  // several chunks per thread: a pool thread that starts late still takes its share
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(4 * threads, n));
  if (chunks == 1) {
    f(0, n);
    return;
  }
  struct State {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    std::mutex mu;
    std::condition_variable cv;
  };
  auto state = std::make_shared<State>();
  const Fn* fp = &f;  // dereferenced only while a chunk is unfinished, i.e. while the caller waits
  auto participate = [state, fp, n, chunks] {
    for (;;) {
      const int64_t p = state->next.fetch_add(1);
      if (p >= chunks) return;
      (*fp)(n * p / chunks, n * (p + 1) / chunks);
      if (state->done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(state->mu);
        state->cv.notify_all();
      }
    }
  };
  for (int64_t p = 1; p < std::min(threads, chunks); ++p) pool.Schedule(decltype(participate)(participate));
  participate();
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait(lock, [&] { return state->done.load() == chunks; });
}

template <ffi::DataType FT>
ffi::Error MovesImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::S8> spins_in,
                     ffi::Buffer<ffi::S32> stab_in, ffi::Buffer<ffi::S32> iv_in,
                     ffi::Buffer<ffi::S8> gave_up, ffi::Buffer<ffi::S8> xs,
                     ffi::Buffer<ffi::U32> spin, ffi::Buffer<FT> log_u, ffi::Buffer<FT> scale,
                     ffi::Buffer<FT> ltab, int32_t y, int32_t yx, int32_t K, int32_t N, int32_t M,
                     int32_t kx, int32_t variant, int32_t energy, int64_t schedule_every,
                     int64_t give_up, int64_t max_steps, bool stop,
                     ffi::ResultBuffer<ffi::S8> spins, ffi::ResultBuffer<ffi::S32> stab,
                     ffi::ResultBuffer<ffi::S32> iv) {
  using F = ffi::NativeType<FT>;
  if (y < 1 || K < 1 || N < 1 || M < 1 || (yx != y && yx != y + 1) || (kx != 1 && kx != K)) {
    return ffi::Error::InvalidArgument("physlearn anneal moves: bad shape attributes");
  }
  const int64_t C = static_cast<int64_t>(iv_in.element_count()) / (y + kCounters);
  Shape s{y, yx, K, N, M, kx, variant, energy, schedule_every, give_up, max_steps, stop,
          0, 0, 0};
  if (C == 0) return ffi::Error::Success();
  s.B = static_cast<int64_t>(spin.element_count()) / C;
  s.T = static_cast<int64_t>(scale.element_count()) / C;
  s.L = s.T ? static_cast<int64_t>(ltab.element_count()) / (C * s.T) : 0;
  const int64_t spins_n = C * yx * static_cast<int64_t>(K) * N;
  const int64_t stab_n = C * y * static_cast<int64_t>(K) * M;
  if (static_cast<int64_t>(spins_in.element_count()) != spins_n ||
      static_cast<int64_t>(stab_in.element_count()) != stab_n ||
      static_cast<int64_t>(xs.element_count()) != C * kx * static_cast<int64_t>(N) * M ||
      static_cast<int64_t>(gave_up.element_count()) != C ||
      static_cast<int64_t>(log_u.element_count()) != C * s.B || s.T < 1 || s.L < 1 ||
      s.yx * static_cast<int64_t>(K) * N >= (int64_t{1} << 31)) {
    return ffi::Error::InvalidArgument("physlearn anneal moves: inconsistent buffer sizes");
  }
  if (spins->untyped_data() != spins_in.untyped_data())
    std::memcpy(spins->typed_data(), spins_in.typed_data(), spins_n);
  if (stab->untyped_data() != stab_in.untyped_data())
    std::memcpy(stab->typed_data(), stab_in.typed_data(), sizeof(int32_t) * stab_n);
  if (iv->untyped_data() != iv_in.untyped_data())
    std::memcpy(iv->typed_data(), iv_in.typed_data(), sizeof(int32_t) * C * (y + kCounters));

  auto work = [&](int64_t lo, int64_t hi) {
    std::vector<int32_t> shifted(M), votes(M), cost(static_cast<int64_t>(K) * M);
    std::vector<int8_t> col(yx);
    const int64_t KM = static_cast<int64_t>(K) * M, xsize = kx * static_cast<int64_t>(N) * M;
    for (int64_t c = lo; c < hi; ++c) {
      int32_t* st = stab->typed_data() + c * y * KM;
      const int8_t* x = xs.typed_data() + c * xsize;
      auto run = [&](auto& rows) {
        chain_moves<F>(s, c, rows, spins->typed_data(), iv->typed_data(), gave_up.typed_data(),
                       spin.typed_data(), log_u.typed_data(), scale.typed_data(),
                       ltab.typed_data(), col.data());
      };
      if (K == 1 && N < (1 << 15) && energy == kMinflip) {
        PerceptronRows<kMinflip> rows(s, st, x);
        run(rows);
      } else if (K == 1 && N < (1 << 15)) {
        PerceptronRows<kErrors> rows(s, st, x);
        run(rows);
      } else {
        GenericRows rows{s, st, x, shifted.data(), votes.data(), cost.data()};
        run(rows);
      }
    }
  };
  parallel_chains(pool, C, work);
  return ffi::Error::Success();
}

// ---- threefry-2x32 (Salmon et al. 2011, 20 rounds), as jax.random.bits draws 32-bit words ----
inline uint32_t rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

inline uint32_t threefry_word(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1) {
  const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
  uint32_t x0 = c0 + k0, x1 = c1 + k1;
#define PL_ROUND(r) \
  x0 += x1;         \
  x1 = rotl(x1, r); \
  x1 ^= x0;
  PL_ROUND(13) PL_ROUND(15) PL_ROUND(26) PL_ROUND(6)
  x0 += k1; x1 += k2 + 1u;
  PL_ROUND(17) PL_ROUND(29) PL_ROUND(16) PL_ROUND(24)
  x0 += k2; x1 += k0 + 2u;
  PL_ROUND(13) PL_ROUND(15) PL_ROUND(26) PL_ROUND(6)
  x0 += k0; x1 += k1 + 3u;
  PL_ROUND(17) PL_ROUND(29) PL_ROUND(16) PL_ROUND(24)
  x0 += k1; x1 += k2 + 4u;
  PL_ROUND(13) PL_ROUND(15) PL_ROUND(26) PL_ROUND(6)
  x0 += k2; x1 += k0 + 5u;
#undef PL_ROUND
  return x0 ^ x1;
}

// bits[c, j] = the j-th 32-bit word of jax.random.bits(key_c, shape) with prod(shape) = n
// (the partitionable threefry: counter j as (high word, low word), output x0 ^ x1)
ffi::Error BitsImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::U32> keys,
                    ffi::ResultBuffer<ffi::U32> bits) {
  const int64_t C = static_cast<int64_t>(keys.element_count()) / 2;
  if (C == 0) return ffi::Error::Success();
  const int64_t n = static_cast<int64_t>(bits->element_count()) / C;
  const uint32_t* kd = keys.typed_data();
  uint32_t* out = bits->typed_data();
  auto work = [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const uint32_t k0 = kd[2 * c], k1 = kd[2 * c + 1];
      uint32_t* o = out + c * n;
      for (int64_t j = 0; j < n; ++j) {
        o[j] = threefry_word(k0, k1, static_cast<uint32_t>(static_cast<uint64_t>(j) >> 32),
                             static_cast<uint32_t>(j));
      }
    }
  };
  parallel_chains(pool, C, work);
  return ffi::Error::Success();
}

}  // namespace

#define PL_MOVES_BINDING(FT)                     \
  ffi::Ffi::Bind()                               \
      .Ctx<ffi::ThreadPool>()                    \
      .Arg<ffi::Buffer<ffi::S8>>()               \
      .Arg<ffi::Buffer<ffi::S32>>()              \
      .Arg<ffi::Buffer<ffi::S32>>()              \
      .Arg<ffi::Buffer<ffi::S8>>()               \
      .Arg<ffi::Buffer<ffi::S8>>()               \
      .Arg<ffi::Buffer<ffi::U32>>()              \
      .Arg<ffi::Buffer<FT>>()                    \
      .Arg<ffi::Buffer<FT>>()                    \
      .Arg<ffi::Buffer<FT>>()                    \
      .Attr<int32_t>("y")                        \
      .Attr<int32_t>("yx")                       \
      .Attr<int32_t>("K")                        \
      .Attr<int32_t>("N")                        \
      .Attr<int32_t>("M")                        \
      .Attr<int32_t>("kx")                       \
      .Attr<int32_t>("variant")                  \
      .Attr<int32_t>("energy")                   \
      .Attr<int64_t>("schedule_every")           \
      .Attr<int64_t>("give_up")                  \
      .Attr<int64_t>("max_steps")                \
      .Attr<bool>("stop")                        \
      .Ret<ffi::Buffer<ffi::S8>>()               \
      .Ret<ffi::Buffer<ffi::S32>>()              \
      .Ret<ffi::Buffer<ffi::S32>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(PhyslearnAnnealMovesF32, MovesImpl<ffi::F32>, PL_MOVES_BINDING(ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(PhyslearnAnnealMovesF64, MovesImpl<ffi::F64>, PL_MOVES_BINDING(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(PhyslearnThreefryBits, BitsImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::U32>>()
                                  .Ret<ffi::Buffer<ffi::U32>>());
