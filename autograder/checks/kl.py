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

from . import Check

NOTEBOOK = "KL_derivation"
F32, F64 = torch.float32, torch.float64
RTOL = {F32: 1e-3, F64: 1e-9}
ARGS = {
    "mvn_log_prob": ("x", "mu", "Sigma"),
    "kl_mvn": ("mu1", "Sigma1", "mu2", "Sigma2"),
    "kl_mc": ("mu1", "Sigma1", "mu2", "Sigma2"),
    "kl_diag_std_normal": ("mu", "logvar"),
}
# A correct kl_mc must fail the statistical test with probability at most this, over all its cases (see
# mc_tolerance). With 20000 draws the tolerance is about 6 standard errors, 0.03-0.15 nats on these cases,
# while the wrong estimators in tests/catalog_kl.py miss by 0.3 nats or more.
MC_FAILURE_PROBABILITY = 1e-6
MC_SAMPLES = 20_000


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


def mc_tolerance(case, n, delta):
    """Half-width t with P(|kl_mc − KL| > t) ≤ delta for each element of a correct kl_mc with n samples.

    With x = μ1 + L1 z (Σ1 = L1 L1ᵀ, z ~ N(0, I)), f(x) = log p(x) − log q(x) is exactly
    ½ zᵀ(M − I)z + bᵀz + const, with M = L1ᵀΣ2⁻¹L1 and b = L1ᵀΣ2⁻¹(μ1 − μ2); its mean is the KL and
    Var f = ½ tr((M − I)²) + ‖b‖². In the eigenbasis of A = ½(M − I) = V diag(a) Vᵀ, with c = Vᵀb,
    f − KL = Σ_j a_j(g_j² − 1) + c_j g_j, g = Vᵀz ~ N(0, I): a Gaussian quadratic form whose MGF is known
    in closed form, so an exact Chernoff bound applies to the mean of n draws (no CLT approximation).
    Each tail gets delta/2. This holds for any exact sampler of N(μ1, Σ1), not only the Cholesky one.
    """
    mu1, sigma1, mu2, sigma2 = _f64(case, ARGS["kl_mc"])
    l1, l2 = torch.linalg.cholesky(sigma1), torch.linalg.cholesky(sigma2)
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], l1.shape[:-2], l2.shape[:-2])
    k = mu1.shape[-1]
    w = torch.linalg.solve_triangular(l2, l1, upper=False).expand(*batch, k, k)  # L2⁻¹L1, M = WᵀW
    d = torch.linalg.solve_triangular(l2, (mu1 - mu2).unsqueeze(-1), upper=False)
    b = (w.mT @ d).squeeze(-1)
    a, v = torch.linalg.eigh((w.mT @ w - torch.eye(k, dtype=F64)) / 2)
    c = (v.mT @ b.unsqueeze(-1)).squeeze(-1)
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


def _compare(name, kind, cases, outputs, reference):
    """One failure message per case whose output differs from ``reference(case) → (ref, tol)``."""
    failures = []
    for case, output in zip(cases, outputs):
        what = f"{name} is wrong for {kind} {_describe(case, ARGS[name])}"
        if isinstance(output, str):
            failures.append(f"{what}: your code raised {output}")
            continue
        if "out" not in output:
            failures.append(f"{what}: expected a tensor, got {sorted(output)}")
            continue
        ref, tol = reference(case)
        problem = _mismatch(output["out"], ref, tol, _dtype(case))
        if problem:
            failures.append(f"{what}: {problem}")
    return failures


def _within(oracle):
    """reference(case) for _compare: the oracle's value, and RTOL times the size of its terms."""
    def reference(case):
        ref, scale = oracle(case)
        return ref, RTOL[_dtype(case)] * scale
    return reference


# ---------------------------------------------------------------- mvn_log_prob

def _log_prob_case(gen, k, cond, dtype, x_batch=(), mu_batch=(), sigma_batch=()):
    mu, sigma = _randn(gen, *mu_batch, k), _spd(gen, sigma_batch, k, cond)
    # points at typical distances from (the first of) the distributions: x = mu + L z
    z = _randn(gen, *x_batch, k, 1)
    x = _first(mu, 1) + (torch.linalg.cholesky(_first(sigma, 2)) @ z).squeeze(-1)
    return _cast({"x": x, "mu": mu, "Sigma": sigma}, dtype)


def _log_prob_exact_cases(gen):
    return [_log_prob_case(gen, k, cond, dtype) for k, cond, dtype in
            [(1, 1, F64), (2, 10, F64), (3, 100, F32), (5, 1e3, F64), (16, 1e3, F32), (64, 100, F64)]]


def _log_prob_batched_cases(gen):
    return [
        _log_prob_case(gen, 3, 10, F64, x_batch=(6,)),
        _log_prob_case(gen, 4, 100, F32, x_batch=(5, 1), mu_batch=(3,), sigma_batch=(5, 1)),
        _log_prob_case(gen, 2, 10, F64, mu_batch=(4,), sigma_batch=(4,)),
        _log_prob_case(gen, 1, 1, F32, x_batch=(7,)),
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

def _mc_case(gen, k, cond, dtype, mu1_batch=(), sigma_batch=(), n=MC_SAMPLES):
    """A pair whose KL is a few nats with moderate Var f, so that a wrong estimator stands out.

    Sigma2 = L1 W L1ᵀ with W well conditioned gives M = W⁻¹; mu2 = mu1 + L1 v (first batch member) gives b = W⁻¹v.
    """
    mu1, sigma1 = _randn(gen, *mu1_batch, k), _spd(gen, sigma_batch, k, cond)
    l1 = torch.linalg.cholesky(sigma1)
    sigma2 = l1 @ _spd(gen, sigma_batch, k, 4.0, _log_uniform(gen, 0.5, 2.0)) @ l1.mT
    mu2 = _first(mu1, 1) + _first(l1, 2) @ (0.7 * _randn(gen, k))
    case = _cast({"mu1": mu1, "Sigma1": sigma1, "mu2": mu2, "Sigma2": (sigma2 + sigma2.mT) / 2}, dtype)
    return {**case, "n": torch.tensor(n), "seed": torch.randint(0, 2**62, (), generator=gen)}


def _mc_estimate_cases(gen):
    return [
        _mc_case(gen, 1, 1, F64),
        _mc_case(gen, 4, 100, F64),
        _mc_case(gen, 8, 10, F32),
        _mc_case(gen, 3, 10, F64, mu1_batch=(2, 1), sigma_batch=(3,)),
    ]


def _mc_reference(cases):
    """reference(case) for _compare: the exact KL and its tolerance, the failure budget split over all values."""
    n_values = sum(_kl_ref(case)[0].numel() for case in cases)
    delta = MC_FAILURE_PROBABILITY / n_values

    def reference(case):
        ref, scale = _kl_ref(case)
        rounding = RTOL[case["mu1"].dtype] * scale
        return ref, mc_tolerance(case, int(case["n"]), delta) + rounding
    return reference


def _verify_mc_estimate(cases, outputs):
    return _compare("kl_mc", f"n_samples={MC_SAMPLES},", cases, outputs, _mc_reference(cases))


def _mc_generator_cases(gen):
    cases = [_mc_case(gen, 3, 10, F64, n=200), _mc_case(gen, 2, 10, F32, mu1_batch=(2,), sigma_batch=(2,), n=200)]
    for case in cases:
        case["other_seed"] = case["seed"] + 1
    return cases


def _verify_mc_generator(cases, outputs):
    """Outputs a, b: two calls with the same seed; c: another seed. Same seed must give the same values."""
    failures = []
    for case, output in zip(cases, outputs):
        what = f"kl_mc with generator=torch.Generator().manual_seed(s), {_describe(case, ARGS['kl_mc'])}"
        if isinstance(output, str):
            failures.append(f"{what}: your code raised {output}")
            continue
        a, b, c = output["a"], output["b"], output["c"]
        shape = torch.broadcast_shapes(case["mu1"].shape[:-1], case["Sigma1"].shape[:-2],
                                       case["mu2"].shape[:-1], case["Sigma2"].shape[:-2])
        if a.shape != shape:
            failures.append(f"{what}: expected shape {_shape(torch.empty(shape))}, got {_shape(a)}")
        elif not torch.equal(a, b):
            failures.append(f"{what}: two calls with the same seed s gave different results ({a.flatten()[0].item():.6g} "
                            f"and {b.flatten()[0].item():.6g}); draw all random numbers from `generator`")
        elif torch.equal(a, c):
            failures.append(f"{what}: different seeds gave identical results; the samples must come from `generator`")
    return failures


# ---------------------------------------------------------------- kl_diag_std_normal

def _diag_case(gen, dtype, mu_shape, logvar_shape):
    mu = 1.5 * _randn(gen, *mu_shape)
    logvar = -4 + 7 * torch.rand(logvar_shape, generator=gen, dtype=F64)  # variances e^-4 … e^3
    return _cast({"mu": mu, "logvar": logvar}, dtype)


def _diag_exact_cases(gen):
    return [_diag_case(gen, F64, (1,), (1,)), _diag_case(gen, F64, (5,), (5,)), _diag_case(gen, F32, (20,), (20,))]


def _diag_batched_cases(gen):
    return [
        _diag_case(gen, F32, (64, 20), (64, 20)),
        _diag_case(gen, F64, (3, 4, 10), (3, 4, 10)),
        _diag_case(gen, F64, (5, 8), (1, 8)),
        _diag_case(gen, F32, (6, 1), (6, 1)),
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
