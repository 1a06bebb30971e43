"""Trusted checks for KL_derivation.ipynb.

The oracles are ``torch.distributions`` evaluated in float64 on exactly the values the student's code
received (float32 inputs convert to float64 without loss). Each tolerance is relative to the size of the
terms a correct implementation has to add up, so it holds for any numerically sound way of computing the
formula (Cholesky, ``torch.linalg.solve``, inverse + slogdet, ...), while the mistakes students make move
the result by a sizeable fraction of those terms.

Tolerances, with u the unit roundoff (float32: 6.0e-8, float64: 1.1e-16) and κ ≤ 1e3 the condition number
of the covariances: a backward-stable factorisation or solve of a k×k matrix gives each term of the formula
with a relative error of order √k·u·κ (k·u·κ at worst). In float64 that is at most 256·1.1e-16·1e3 ≈ 3e-11,
so RTOL = 1e-9 leaves a wide margin and still exposes any wrong formula. In float32, √k·u·κ ≈ 1e-3 at
k = 256, κ = 1e3; over 300 draws of every float32 case, the largest error relative to the term size for
Cholesky, solve + logdet and inverse + slogdet implementations was 4e-6 (mvn_log_prob), 1e-5 (kl_mvn) and
1.3e-7 (kl_diag_std_normal). RTOL = 1e-3 is 100 times that; formula errors are caught by the float64 cases
anyway, and the float32 cases catch overflowing determinants (inf/nan) and a wrong output dtype.
"""
import math

import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from . import Check, stats

NOTEBOOK = "KL_derivation"
F32, F64 = torch.float32, torch.float64
RTOL = {F32: 1e-3, F64: 1e-9}
ARGS = {
    "mvn_log_prob": ("x", "mu", "Sigma"),
    "kl_mvn": ("mu1", "Sigma1", "mu2", "Sigma2"),
    "kl_mc": ("mu1", "Sigma1", "mu2", "Sigma2"),
    "kl_diag_std_normal": ("mu", "logvar"),
}


# ---------------------------------------------------------------- random inputs (grader's generator only)

def _log_uniform(gen, lo, hi):
    return math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * torch.rand((), generator=gen, dtype=F64).item())


def _spd(gen, batch, k, cond, scale=None):
    """SPD matrices Q diag(λ) Qᵀ, Q random orthogonal, λ log-spaced from scale/√cond to scale·√cond."""
    if scale is None:
        scale = _log_uniform(gen, 0.3, 3.0)
    q, _ = torch.linalg.qr(torch.randn(*batch, k, k, generator=gen, dtype=F64))
    eigenvalues = scale * cond ** torch.linspace(-0.5, 0.5, k, dtype=F64)
    sigma = (q * eigenvalues) @ q.mT
    return (sigma + sigma.mT) / 2


def _randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=F64)


def _cast(case, dtype):
    return {name: value.to(dtype) for name, value in case.items()}


def _first(t, event_dims):
    """The first member of a batch of vectors (event_dims=1) or matrices (event_dims=2)."""
    return t.reshape(-1, *t.shape[t.dim() - event_dims:])[0]


def _dtype(case):
    return next(value.dtype for value in case.values() if value.is_floating_point())


# ---------------------------------------------------------------- oracles and tolerances (float64)

def _f64(case, names):
    return [case[name].to(F64) for name in names]


def _log_prob_ref(case):
    """log N(x; mu, Sigma) and the size of its terms ½(|Mahalanobis| + |log det| + k log 2π)."""
    x, mu, sigma = _f64(case, ARGS["mvn_log_prob"])
    k = x.shape[-1]
    ref = MultivariateNormal(mu, covariance_matrix=sigma).log_prob(x)
    log_det = torch.linalg.slogdet(sigma).logabsdet
    maha = -2 * ref - log_det - k * math.log(2 * math.pi)
    return ref, 0.5 * (maha.abs() + log_det.abs() + k * math.log(2 * math.pi))


def _kl_ref(case):
    """KL(N(mu1, Sigma1) || N(mu2, Sigma2)) and the size of its terms ½(tr + Mahalanobis + k + |log dets|)."""
    mu1, sigma1, mu2, sigma2 = _f64(case, ARGS["kl_mvn"])
    k = mu1.shape[-1]
    ref = kl_divergence(MultivariateNormal(mu1, sigma1), MultivariateNormal(mu2, sigma2))
    trace = torch.linalg.solve(sigma2, sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    d = (mu2 - mu1).unsqueeze(-1)
    maha = (d.mT @ torch.linalg.solve(sigma2, d)).squeeze((-2, -1))
    log_dets = torch.linalg.slogdet(sigma1).logabsdet.abs() + torch.linalg.slogdet(sigma2).logabsdet.abs()
    return ref, 0.5 * (trace.abs() + maha + k + log_dets).expand(ref.shape)


def _diag_ref(case):
    mu, logvar = _f64(case, ARGS["kl_diag_std_normal"])
    ref = kl_divergence(Normal(mu, (logvar / 2).exp()), Normal(0.0, 1.0)).sum(-1)
    scale = 0.5 * (logvar.exp() + mu.square() + 1 + logvar.abs()).sum(-1)
    return ref, scale.expand(ref.shape)


def _chernoff_width(a, c, n, delta):
    """Smallest t on a θ-grid with P(mean of n copies of F ≥ t) ≤ delta, F = Σ_j a_j(g_j² − 1) + c_j g_j.

    With g ~ N(0, I), E exp(θF) = Π_j exp(−θa_j) (1 − 2θa_j)^(-1/2) exp(θ²c_j² / (2(1 − 2θa_j))) for
    θa_j < ½, so the log-MGF Λ(θ) is exact. Chernoff: P(F̄ ≥ t) ≤ exp(n(Λ(θ) − θt)) for every θ > 0; choosing
    t(θ) = (Λ(θ) + ln(1/δ)/n) / θ makes that bound δ, and any grid point gives a valid t.
    """
    theta = torch.logspace(-6, 4, 2000, dtype=F64).view(-1, *([1] * a.dim()))
    one_minus = 1 - 2 * theta * a
    safe = one_minus.clamp_min(1e-300)
    log_mgf = (-theta * a - 0.5 * torch.log(safe) + theta**2 * c**2 / (2 * safe)).sum(-1)
    log_mgf = torch.where((one_minus > 0).all(-1), log_mgf, torch.inf)
    return ((log_mgf + math.log(1 / delta) / n) / theta[..., 0]).min(0).values


def _log_ratio_form(case):
    """(a, c) with f − KL = Σ_j a_j(g_j² − 1) + c_j g_j, g ~ N(0, I), for f = ln p(x) − ln q(x), x ~ p.

    With x = μ1 + L1 z (Σ1 = L1 L1ᵀ, z ~ N(0, I)), f is exactly ½ zᵀ(M − I)z + bᵀz + const, with
    M = L1ᵀΣ2⁻¹L1 and b = L1ᵀΣ2⁻¹(μ1 − μ2); its mean is the KL. In the eigenbasis of
    A = ½(M − I) = V diag(a) Vᵀ, with c = Vᵀb and g = Vᵀz ~ N(0, I), f − KL = Σ_j a_j(g_j² − 1) + c_j g_j.
    This holds for any exact sampler of N(μ1, Σ1), not only the Cholesky one.
    """
    mu1, sigma1, mu2, sigma2 = _f64(case, ARGS["kl_mc"])
    l1, l2 = torch.linalg.cholesky(sigma1), torch.linalg.cholesky(sigma2)
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], l1.shape[:-2], l2.shape[:-2])
    k = mu1.shape[-1]
    w = torch.linalg.solve_triangular(l2, l1, upper=False).expand(*batch, k, k)  # L2⁻¹L1, M = WᵀW
    d = torch.linalg.solve_triangular(l2, (mu1 - mu2).unsqueeze(-1), upper=False)
    b = (w.mT @ d).squeeze(-1)
    a, v = torch.linalg.eigh((w.mT @ w - torch.eye(k, dtype=F64)) / 2)
    return a, (v.mT @ b.unsqueeze(-1)).squeeze(-1)


def log_ratio_variance(case):
    """σ² = Var_p[ln p(x) − ln q(x)] = Σ_j 2a_j² + c_j² = ½ tr((M − I)²) + ‖b‖² (see _log_ratio_form)."""
    a, c = _log_ratio_form(case)
    return (2 * a.square() + c.square()).sum(-1)


def mc_tolerance(case, n, delta):
    """Half-width t with P(|mean of n draws of f − KL| > t) ≤ delta, for each element of the batch.

    f − KL is a Gaussian quadratic form (see _log_ratio_form) whose MGF is known in closed form, so an exact
    Chernoff bound applies to the mean of n draws (no CLT approximation). Each tail gets delta/2.
    """
    a, c = _log_ratio_form(case)
    return torch.maximum(_chernoff_width(a, c, n, delta / 2), _chernoff_width(-a, c, n, delta / 2))


# ---------------------------------------------------------------- student-facing comparison

def _shape(t):
    return "(" + ",".join(map(str, t.shape)) + ("," if t.dim() == 1 else "") + ")"


def _describe(case, names):
    shapes = ", ".join(f"{name} {_shape(case[name])}" for name in names)
    return f"{shapes}, {str(case[names[0]].dtype).removeprefix('torch.')}"


def _mismatch(out, ref, tol, dtype):
    """Why ``out`` does not match ``ref`` (float64) within ``tol``, or None when it does."""
    if tuple(out.shape) != tuple(ref.shape):
        return f"expected shape {_shape(ref)}, got {_shape(out)}"
    if out.dtype != dtype:
        return f"expected dtype {dtype} (the dtype of the inputs), got {out.dtype}"
    err = (out.to(F64) - ref).abs().nan_to_num(torch.inf)
    bad = ~(err <= tol)
    if not bad.any():
        return None
    i = tuple(int(j) for j in torch.unravel_index(err.argmax(), err.shape)) if err.dim() else ()
    where = f" at index {i}" if i else ""
    share = f" ({int(bad.sum())} of {bad.numel()} values wrong)" if bad.numel() > 1 else ""
    return f"expected {ref[i].item():.6g}, got {out[i].item():.6g}{where} (tolerance ±{tol[i].item():.2g}){share}"


def _judge_each(name, kind, cases, outputs, judge):
    """One failure message per problem ``judge(case, out) → [problem, ...]`` finds in a case's output."""
    failures = []
    for case, output in zip(cases, outputs):
        what = f"{name} is wrong for {kind(case) if callable(kind) else kind} {_describe(case, ARGS[name])}"
        if isinstance(output, str):
            failures.append(f"{what}: your code raised {output}")
        elif "out" not in output:
            failures.append(f"{what}: expected a tensor, got {sorted(output)}")
        else:
            failures += [f"{what}: {problem}" for problem in judge(case, output["out"])]
    return failures


def _compare(name, kind, cases, outputs, reference):
    """One failure message per case whose output differs from ``reference(case) → (ref, tol)``."""
    def judge(case, out):
        ref, tol = reference(case)
        problem = _mismatch(out, ref, tol, _dtype(case))
        return [problem] if problem else []
    return _judge_each(name, kind, cases, outputs, judge)


def _within(oracle):
    """reference(case) for _compare: the oracle's value, and RTOL times the size of its terms."""
    def reference(case):
        ref, scale = oracle(case)
        return ref, RTOL[_dtype(case)] * scale
    return reference


# ---------------------------------------------------------------- mvn_log_prob

def _log_prob_case(gen, k, cond, dtype, x_batch=(), mu_batch=(), sigma_batch=(), scale=None):
    mu, sigma = _randn(gen, *mu_batch, k), _spd(gen, sigma_batch, k, cond, scale)
    # points at typical distances from (the first of) the distributions: x = mu + L z
    z = _randn(gen, *x_batch, k, 1)
    x = _first(mu, 1) + (torch.linalg.cholesky(_first(sigma, 2)) @ z).squeeze(-1)
    return _cast({"x": x, "mu": mu, "Sigma": sigma}, dtype)


def _log_prob_exact_cases(gen):
    cases = [_log_prob_case(gen, k, cond, dtype) for k, cond, dtype in
             [(1, 1, F64), (2, 10, F64), (3, 100, F32), (5, 1e3, F64), (16, 1e3, F32), (64, 100, F64)]]
    # The largest promised k, with det(Sigma) beyond float32's range (3^256) and below float64's (0.05^256)
    return cases + [_log_prob_case(gen, 256, 1e3, F32, scale=3.0), _log_prob_case(gen, 256, 100, F64, scale=0.05)]


def _log_prob_batched_cases(gen):
    return [
        _log_prob_case(gen, 3, 10, F64, x_batch=(6,)),
        _log_prob_case(gen, 4, 100, F32, x_batch=(5, 1), mu_batch=(3,), sigma_batch=(5, 1)),
        _log_prob_case(gen, 2, 10, F64, mu_batch=(4,), sigma_batch=(4,)),
        _log_prob_case(gen, 1, 1, F32, x_batch=(7,)),
        # each argument batched alone, and a batch of one that must stay a batch: (1,) in, (1,) out
        _log_prob_case(gen, 3, 10, F32, mu_batch=(4,)),
        _log_prob_case(gen, 3, 10, F64, sigma_batch=(4,)),
        _log_prob_case(gen, 2, 10, F64, x_batch=(1,), mu_batch=(1,), sigma_batch=(1,)),
        _log_prob_case(gen, 1, 1, F64, x_batch=(1, 1)),
    ]


def _verify_log_prob(kind):
    return lambda cases, outputs: _compare("mvn_log_prob", kind, cases, outputs, _within(_log_prob_ref))


# ---------------------------------------------------------------- kl_mvn

def _kl_case(gen, k, cond, dtype, batches=((), (), (), ()), scales=(None, None)):
    mu1_batch, sigma1_batch, mu2_batch, sigma2_batch = batches
    case = {
        "mu1": _randn(gen, *mu1_batch, k),
        "Sigma1": _spd(gen, sigma1_batch, k, cond, scales[0]),
        "mu2": _randn(gen, *mu2_batch, k),
        "Sigma2": _spd(gen, sigma2_batch, k, cond, scales[1]),
    }
    return _cast(case, dtype)


def _kl_exact_cases(gen):
    cases = [_kl_case(gen, k, cond, dtype) for k, cond, dtype in
             [(1, 1, F64), (2, 10, F64), (3, 100, F32), (5, 1e3, F64), (16, 1e3, F32), (32, 10, F64)]]
    same = _kl_case(gen, 4, 100, F64)  # KL(p || p) = 0
    cases.append({**same, "mu2": same["mu1"].clone(), "Sigma2": same["Sigma1"].clone()})
    return cases


def _kl_batched_cases(gen):
    return [
        _kl_case(gen, 5, 10, F32, batches=((3, 1), (4,), (), ())),
        _kl_case(gen, 3, 100, F64, batches=((2,), (), (2,), (2,))),
        _kl_case(gen, 4, 10, F64, batches=((), (2, 1), (3,), (3,))),
        _kl_case(gen, 1, 1, F32, batches=((4,), (4,), (4,), (4,))),
        # each argument batched alone, and batches of one that must stay batches
        _kl_case(gen, 3, 10, F64, batches=((5,), (), (), ())),
        _kl_case(gen, 3, 10, F32, batches=((), (5,), (), ())),
        _kl_case(gen, 3, 10, F64, batches=((), (), (5,), ())),
        _kl_case(gen, 3, 10, F64, batches=((), (), (), (5,))),
        _kl_case(gen, 2, 10, F64, batches=((1,), (1,), (1,), (1,))),
        _kl_case(gen, 1, 1, F32, batches=((1, 1), (), (), ())),
    ]


def _kl_high_dim_cases(gen):
    # Scales chosen so that det(Sigma) over- or underflows: e^(256·ln 3) > float32 max, e^(256·ln 0.05) < float64 min.
    return [
        _kl_case(gen, 128, 1e3, F64, scales=(3.0, 2.0)),
        _kl_case(gen, 256, 1e3, F32, scales=(3.0, 1.5)),
        _kl_case(gen, 256, 100, F32, scales=(0.3, 0.5)),
        _kl_case(gen, 256, 1e3, F64, scales=(0.05, 0.08)),
    ]


def _verify_kl(kind):
    return lambda cases, outputs: _compare("kl_mvn", kind, cases, outputs, _within(_kl_ref))


# ---------------------------------------------------------------- kl_mc

# kl_mc is tested as an estimator (table in CHECKS.md). The hidden test calls it once for each of M seeds at
# n samples on every case; each case's batch holds B pairs. For a correct kl_mc the M·B estimates Y are
# independent, with mean KL and variance σ²/n exactly (σ² from log_ratio_variance), so Z = (Y − KL)/(σ/√n)
# are independent with mean 0 and variance 1. Three tests per case, each given a third of the check's
# failure budget MC_FAILURE_PROBABILITY = 1e-6, and each runs only when the one before it passed:
#   mean    each entry's mean over seeds is a mean of n·M draws of f: exact Chernoff bound (mc_tolerance),
#           the budget split over all entries of all cases;
#   spread  S = Σ_b Σ_m (Z_mb − Z̄_b)² ~ χ²_ν, ν = B(M − 1): two-sided, catches "too precise" as well as "too noisy";
#   batch   W = B Σ_m (R_m − R̄)² ~ χ²_(M−1), R_m = the mean over the batch of seed m's Z: the batch entries'
#           common movement; independent draws give variance 1/B to R_m, shared noise up to 1.
# The χ² laws assume Gaussian Y. Y is a mean of n draws of f, whose excess kurtosis κ4/κ2² is at most 12
# (κ4 = 48 Σ a²(a² + c²), κ2 = Σ 2a² + c²), so Y's is at most 12/n: the effective degrees of freedom
# shrink by at most 6/n (1.2 % at n = 500), which makes the χ² tails 1.24 times heavier. The χ² tests
# therefore run at a tenth of their share, α = 1e-6 / 3 / C / 10 per test for C cases. The cases at n = 1
# and n = MC_MANY use pairs with Sigma1 = Sigma2, for which f is linear in x (a = 0): Y is then exactly
# Gaussian at every n, so their χ² laws are exact (at n = 1 the kurtosis argument would not hold).
# The cases, C = 8 (M = 40, B = 10 unless said):
#   n = 500     mu1 alone batched; a mu1 × Sigma1 grid; all four batched; ten distinct pairs; Sigma2 alone and
#               mu2 alone batched (these two with one generator for all M calls: it must move on);
#   n = 1       M = 200, Sigma1 alone batched, one generator for all calls: bias or lost variance at small n;
#   n = 50,000  B = 1 (a batch of one): an estimator that stops short of n draws is too noisy there.
# Numbers (α = 4.2e-9):
#   spread  ν = 390: passes for S/ν in [0.635, 1.480]; a variance off by ×2 fails with probability
#           0.99996, off by ×1/2 with 0.99975. At n = 1, ν = 1,990: passes for S/ν in [0.825, 1.198].
#           At n = 50,000, ν = 39: passes for S/ν ≤ 2.95; at most 10,000 draws (variance ×5) fails with
#           probability 0.98, at most 5,000 (×10) with 0.999994.
#   batch   ν = 39: passes for W/ν in [0.177, 2.95]; noise shared by the batch (W ~ B·χ²_39) fails with
#           probability 0.999994; a correlation ρ between entries (W ~ (1 + (B − 1)ρ)·χ²_39) with 0.992
#           at ρ = 0.5.
#   false failures: at most 1e-6 / 3 (mean, exact) + 2 · 8 · 1.24 α (χ², approximate) < 5e-7 per grading.
# tests/test_checks_kl.py recomputes every number here. Kernel cost: 480 calls of kl_mc, 3.2 million
# draws in k ≤ 8 dimensions in all, about 1.5 s of CPU for the reference solution (half of it at n = 50,000).
MC_FAILURE_PROBABILITY = 1e-6
MC_SAMPLES, MC_SEEDS, MC_BATCH = 500, 40, 10
MC_FEW, MC_FEW_SEEDS = 1, 200
MC_MANY, MC_MANY_SEEDS = 50_000, 40
MC_APPROXIMATION_MARGIN = 10


def _mc_pair(gen, k, cond, dtype, mu1_batch=(), sigma_batch=()):
    """A pair whose KL is a few nats with moderate Var f, so that a wrong estimator stands out.

    Sigma2 = L1 W L1ᵀ with W well conditioned gives M = W⁻¹; mu2 = mu1 + L1 v (first batch member) gives b = W⁻¹v.
    """
    mu1, sigma1 = _randn(gen, *mu1_batch, k), _spd(gen, sigma_batch, k, cond)
    l1 = torch.linalg.cholesky(sigma1)
    sigma2 = l1 @ _spd(gen, sigma_batch, k, 4.0, _log_uniform(gen, 0.5, 2.0)) @ l1.mT
    mu2 = _first(mu1, 1) + _first(l1, 2) @ (0.7 * _randn(gen, k))
    return _cast({"mu1": mu1, "Sigma1": sigma1, "mu2": mu2, "Sigma2": (sigma2 + sigma2.mT) / 2}, dtype)


def _repeated(case, batches):
    """The first pair of ``case`` repeated: name → its batch shape (absent: unbatched)."""
    events = {"mu1": 1, "Sigma1": 2, "mu2": 1, "Sigma2": 2}
    out = {}
    for name, event_dims in events.items():
        one = _first(case[name], event_dims)
        out[name] = one.expand(*batches.get(name, ()), *one.shape).clone()
    return out


def _seeds(gen, count):
    return torch.randint(0, 2**62, (count,), generator=gen)


def _mc_shift_pair(gen, k, dtype):
    """A pair with Sigma2 = Sigma1 and mu2 = mu1 + L1 v, |v| in [1.5, 2.5]: f is linear in x, so exactly Gaussian."""
    mu1, sigma1 = _randn(gen, k), _spd(gen, (), k, 10.0)
    direction = _randn(gen, k)
    v = direction / direction.norm() * (1.5 + torch.rand((), generator=gen, dtype=F64))
    mu2 = mu1 + torch.linalg.cholesky(sigma1) @ v
    return _cast({"mu1": mu1, "Sigma1": sigma1, "mu2": mu2, "Sigma2": sigma1.clone()}, dtype)


def _estimated(gen, case, n, seeds, chain=False):
    """``case`` with its sample size, its seeds and whether one generator serves every call (``chain``)."""
    return {**case, "n": torch.tensor(n), "seeds": _seeds(gen, seeds), "chain": torch.tensor(chain)}


def _mc_estimate_cases(gen):
    """The C cases listed above: the same pair repeated (shared noise then shows), or distinct pairs."""
    at_500 = [
        _repeated(_mc_pair(gen, 1, 1, F64), {"mu1": (MC_BATCH,)}),
        _repeated(_mc_pair(gen, 4, 100, F64), {"mu1": (2, 1), "Sigma1": (MC_BATCH // 2,)}),
        _repeated(_mc_pair(gen, 8, 10, F32), {name: (MC_BATCH,) for name in ARGS["kl_mc"]}),
        _mc_pair(gen, 3, 10, F64, mu1_batch=(2, 1), sigma_batch=(MC_BATCH // 2,)),
    ]
    cases = [_estimated(gen, case, MC_SAMPLES, MC_SEEDS) for case in at_500]
    q_alone = [_repeated(_mc_pair(gen, 3, 10, F64), {"Sigma2": (MC_BATCH,)}),
               _repeated(_mc_pair(gen, 2, 100, F32), {"mu2": (MC_BATCH,)})]
    cases += [_estimated(gen, case, MC_SAMPLES, MC_SEEDS, chain=True) for case in q_alone]
    few = _repeated(_mc_shift_pair(gen, 2, F64), {"Sigma1": (MC_BATCH,)})
    many = _repeated(_mc_shift_pair(gen, 1, F64), {"mu1": (1,)})  # also a batch of one: (1,) in, (1,) out
    return cases + [_estimated(gen, few, MC_FEW, MC_FEW_SEEDS, True), _estimated(gen, many, MC_MANY, MC_MANY_SEEDS)]


def _standardised(case, estimates):
    """Z (M, B): each estimate's distance from the KL in standard deviations σ/√n of a correct estimate."""
    ref = _kl_ref(case)[0]
    sd = (log_ratio_variance(case) / int(case["n"])).sqrt()
    return ((estimates.to(F64) - ref) / sd).reshape(len(estimates), -1)


def _spread_problem(z, n, alpha):
    """Why the estimates' spread over seeds is not that of n-sample estimates, or None."""
    seeds, batch = z.shape
    dof = batch * (seeds - 1)
    statistic = (z - z.mean(0)).square().sum().item()
    lo, hi = stats.chi2_bounds(dof, alpha)
    if lo <= statistic <= hi:
        return None
    expected = f"a Monte Carlo estimate with {n:,} independent samples"
    if statistic < lo:
        return (f"over {seeds} seeds your estimates spread {_times(statistic, dof)} less than {expected} can: "
                "are you sampling, with fresh draws from N(mu1, Sigma1)?")
    return (f"over {seeds} seeds your estimates spread {_times(statistic, dof)} more than {expected} does: "
            "do you average ln p(x) - ln q(x) over all n_samples draws from p = N(mu1, Sigma1), each drawn afresh?")


def _times(statistic, dof):
    """How many times the observed standard deviation is off from a correct one (statistic/dof is their ratio²)."""
    ratio = math.sqrt(statistic / dof)
    if not 1e-3 < ratio < 1e3:
        return "over 1000 times"
    return f"{max(ratio, 1 / ratio):.3g} times"  # the message says "more" or "less"


def _batch_problem(z, alpha):
    """Why the batch entries' estimates do not move independently from seed to seed, or None."""
    seeds, batch = z.shape
    row_means = z.mean(1)
    statistic = batch * (row_means - row_means.mean()).square().sum().item()
    lo, hi = stats.chi2_bounds(seeds - 1, alpha)
    if lo <= statistic <= hi:
        return None
    how = "more" if statistic > hi else "less"
    return (f"over {seeds} seeds the average of your {batch} batch entries' estimates varies "
            f"{_times(statistic, seeds - 1)} {how} than independent estimates allow: draw separate samples for "
            "every batch entry")


def _mc_judge(cases):
    """judge(case, estimates) for _judge_each: the mean, spread and batch tests described above."""
    values = sum(_kl_ref(case)[0].numel() for case in cases)
    delta = MC_FAILURE_PROBABILITY / 3
    alpha = delta / len(cases) / MC_APPROXIMATION_MARGIN

    def judge(case, estimates):
        seeds, n = len(case["seeds"]), int(case["n"])
        ref, scale = _kl_ref(case)
        if tuple(estimates.shape) != (seeds, *ref.shape):
            return [f"expected one estimate of shape {_shape(ref)} for each of {seeds} seeds, got shape "
                    f"{_shape(estimates)} in all"]
        if bool(case["chain"]) and bool((estimates == estimates[:1]).all()):
            return [f"all {seeds} calls with one generator returned the same estimates; each call must draw new "
                    "samples from `generator`, which then moves on (do not re-seed it or a copy of it)"]
        tol = mc_tolerance(case, n * seeds, delta / values) + RTOL[_dtype(case)] * scale
        problem = _mismatch(estimates.mean(0), ref, tol, _dtype(case))
        if problem:
            return [f"the mean of your estimates over {seeds} seeds: {problem}"]
        z = _standardised(case, estimates)
        # The batch test measures common movement in units of a correct spread: meaningful once that holds.
        problem = _spread_problem(z, n, alpha) or (_batch_problem(z, alpha) if z.shape[1] > 1 else None)
        return [problem] if problem else []
    return judge


def _mc_kind(case):
    calls = len(case["seeds"])
    how = f"one generator for all {calls} calls" if bool(case["chain"]) else f"{calls} seeds"
    return f"n_samples={int(case['n']):,} with {how},"


def _verify_mc_estimate(cases, outputs):
    return _judge_each("kl_mc", _mc_kind, cases, outputs, _mc_judge(cases))


def _mc_generator_cases(gen):
    pairs = [_mc_pair(gen, 3, 10, F64), _mc_pair(gen, 2, 10, F32, mu1_batch=(2,), sigma_batch=(2,)),
             _repeated(_mc_pair(gen, 2, 10, F64), {name: (1,) for name in ARGS["kl_mc"]})]  # a batch of one
    cases = []
    for pair in pairs:
        seed, other_seed = _seeds(gen, 2)
        cases.append({**pair, "n": torch.tensor(200), "seed": seed, "other_seed": other_seed})
    return cases


def _generator_problem(output):
    """What breaks the generator's contract in one case's outputs (see the hidden test), or None.

    a, b: calls with fresh generators seeded s; c: seeded with another s'; d, e: two calls with one generator
    seeded s; f, g: two calls without a generator; global_untouched: torch's global generator kept its state.
    """
    a, first = output["a"], f"{output['a'].flatten()[0].item():.6g}"
    if not torch.equal(a, output["b"]):
        return (f"two calls with generators seeded alike gave different results ({first} and "
                f"{output['b'].flatten()[0].item():.6g}); draw all random numbers from `generator`")
    if torch.equal(a, output["c"]):
        return "generators with different seeds gave identical results; the samples must come from `generator`"
    if not bool(output["global_untouched"]):
        return ("with a generator given, your code still used torch's global generator; take all random numbers "
                "from `generator`")
    if not torch.equal(output["d"], a):
        return "the first call with a generator seeded s differs from other first calls with a generator seeded s"
    if torch.equal(output["d"], output["e"]):
        return (f"a second call with the same generator object returned the same estimate ({first}); the generator "
                "must move on, so that each call draws new samples (do not re-seed it or a copy of it)")
    if torch.equal(output["f"], output["g"]):
        return ("two calls without a generator returned the same estimate; without one, draw from torch's global "
                "generator")
    return None


def _verify_mc_generator(cases, outputs):
    failures = []
    for case, output in zip(cases, outputs):
        what = f"kl_mc with generator=torch.Generator().manual_seed(s), {_describe(case, ARGS['kl_mc'])}"
        if isinstance(output, str):
            failures.append(f"{what}: your code raised {output}")
            continue
        shape = torch.broadcast_shapes(case["mu1"].shape[:-1], case["Sigma1"].shape[:-2],
                                       case["mu2"].shape[:-1], case["Sigma2"].shape[:-2])
        if output["a"].shape != shape:
            failures.append(f"{what}: expected shape {_shape(torch.empty(shape))}, got {_shape(output['a'])}")
            continue
        problem = _generator_problem(output)
        if problem:
            failures.append(f"{what}: {problem}")
    return failures


# ---------------------------------------------------------------- kl_diag_std_normal

# The encoder of a trained VAE reaches log-variances far outside the initial ones: collapsed dimensions sit at 0,
# confident ones at -10 to -20, and early training overshoots upwards. EXTREME_LOGVAR spans that range.
TYPICAL_LOGVAR, EXTREME_LOGVAR = (-4.0, 3.0), (-20.0, 8.0)


def _diag_case(gen, dtype, mu_shape, logvar_shape, logvar_range=TYPICAL_LOGVAR, mu_scale=1.5):
    mu = mu_scale * _randn(gen, *mu_shape)
    low, high = logvar_range
    logvar = low + (high - low) * torch.rand(logvar_shape, generator=gen, dtype=F64)
    return _cast({"mu": mu, "logvar": logvar}, dtype)


def _diag_exact_cases(gen):
    return [_diag_case(gen, F64, (1,), (1,)), _diag_case(gen, F64, (5,), (5,)), _diag_case(gen, F32, (20,), (20,)),
            _diag_case(gen, F32, (20,), (20,), EXTREME_LOGVAR, mu_scale=4.0),
            _diag_case(gen, F64, (20,), (20,), EXTREME_LOGVAR, mu_scale=4.0)]


def _diag_batched_cases(gen):
    return [
        _diag_case(gen, F32, (64, 20), (64, 20)),
        _diag_case(gen, F64, (3, 4, 10), (3, 4, 10)),
        _diag_case(gen, F64, (5, 8), (1, 8)),
        _diag_case(gen, F32, (6, 1), (6, 1)),
        # a broadcast grid, each argument batched alone, and a batch of one that must stay a batch
        _diag_case(gen, F64, (3, 1, 6), (4, 6)),
        _diag_case(gen, F64, (8,), (5, 8)),
        _diag_case(gen, F32, (5, 8), (8,)),
        _diag_case(gen, F64, (1, 6), (1, 6)),
    ]


def _verify_diag(kind):
    return lambda cases, outputs: _compare("kl_diag_std_normal", kind, cases, outputs, _within(_diag_ref))


CHECKS = [
    Check("test_mvn_log_prob_exact", NOTEBOOK, _log_prob_exact_cases, _verify_log_prob("single points")),
    Check("test_mvn_log_prob_batched", NOTEBOOK, _log_prob_batched_cases, _verify_log_prob("batched inputs")),
    Check("test_kl_mvn_exact", NOTEBOOK, _kl_exact_cases, _verify_kl("unbatched inputs"),
          no_distributions_in=("kl_mvn",)),
    Check("test_kl_mvn_batched", NOTEBOOK, _kl_batched_cases, _verify_kl("batched inputs"),
          no_distributions_in=("kl_mvn",)),
    Check("test_kl_mvn_high_dim", NOTEBOOK, _kl_high_dim_cases, _verify_kl("high-dimensional inputs"),
          no_distributions_in=("kl_mvn",)),
    Check("test_kl_mc_estimate", NOTEBOOK, _mc_estimate_cases, _verify_mc_estimate,
          no_distributions_in=("kl_mc",)),
    Check("test_kl_mc_generator", NOTEBOOK, _mc_generator_cases, _verify_mc_generator,
          no_distributions_in=("kl_mc",)),
    Check("test_kl_diag_std_normal_exact", NOTEBOOK, _diag_exact_cases, _verify_diag("unbatched inputs")),
    Check("test_kl_diag_std_normal_batched", NOTEBOOK, _diag_batched_cases, _verify_diag("batched inputs")),
]
