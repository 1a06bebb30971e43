"""Trusted checks for VAE.ipynb.

The oracles use only ``torch.distributions`` and plain torch (``torch.nn.functional``), computed in float64;
the notebook's probes record the student's float32 outputs. Each probe function lives in the hidden part of
its test cell, which is where the keys of the cases below are read.
"""
import math

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from . import Check

PIXELS = 784
RTOL, ATOL = 1e-4, 1e-5  # float32 student vs float64 oracle; a real mistake is off by far more
MAX_MESSAGES = 5

# Random checks (reparameterize, VAE.sample) treat the noise they recover as a matrix E of n rows and m
# columns that must be independent standard normals. Under that hypothesis, for any x > 0:
#   column sum       S = sum_i e_i ~ N(0, n):        P(|S| >= sqrt(2 n x)) <= 2 exp(-x)
#   sum of squares   Q = sum_i e_i^2 ~ chi2_n:       P(|Q - n| >= 2 sqrt(n x) + 2 x) <= 2 exp(-x)
#                    (Laurent & Massart 2000, Lemma 1, both tails)
#   cross product    C = sum_i a_i b_i = (sum u_i^2 - sum v_i^2) / 2 with u, v = (a +- b) / sqrt 2
#                    independent N(0, 1), so P(|C| >= 2 sqrt(n x) + 2 x) <= 4 exp(-x); the same over h disjoint
#                    pairs of rows of one column (rows i and i + n/2, rows 2i and 2i + 1): reused draws
#   distribution     D = sup_t |F_n(t) - Phi(t)| (Kolmogorov distance of a column to the standard normal):
#                    P(D >= sqrt(x / (2 n))) <= 2 exp(-x) (Dvoretzky-Kiefer-Wolfowitz, Massart's constant)
# With K statistics in one test, each failing with probability at most 4 exp(-x), the union bound gives a
# false failure with probability at most 4 K exp(-x); x = log(4 K / FALSE_FAILURE) makes that FALSE_FAILURE.
# Two such tests in this notebook keep a correct solution's false-failure chance below 1e-6 in total.
# Power and thresholds per test: CHECKS.md (tests/test_checks_vae.py recomputes them).
FALSE_FAILURE = 1e-7


def _sigma(generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def _uniform(generator, shape, low, high):
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def _linear(generator, prefix, n_in, n_out):
    """Weights of an ``nn.Linear(n_in, n_out)`` at the scale of PyTorch's default initialisation."""
    return {
        f"{prefix}weight": _uniform(generator, (n_out, n_in), -1, 1) / math.sqrt(n_in),
        f"{prefix}bias": _uniform(generator, (n_out,), -1, 1) / math.sqrt(n_in),
    }


def _float32(case):
    return {name: value.float() if value.is_floating_point() else value for name, value in case.items()}


def _images(generator, n, ink=0.3):
    """MNIST-like pixels: mostly exactly 0, the rest grey levels in (0, 1], some exactly 1."""
    grey = torch.rand(n, 1, 28, 28, generator=generator, dtype=torch.float64)
    on = torch.rand(n, 1, 28, 28, generator=generator, dtype=torch.float64) < ink
    return torch.where(on, torch.clamp(grey * 1.3, max=1.0), torch.zeros(()))


# ---------------------------------------------------------------------------------------------------- oracles
def _mlp(x, params, first, second):
    """F.linear → ReLU → F.linear with the layers named ``first`` and ``second`` in ``params``."""
    hidden = F.relu(F.linear(x, params[f"{first}weight"].double(), params[f"{first}bias"].double()))
    return F.linear(hidden, params[f"{second}weight"].double(), params[f"{second}bias"].double())


def _encode(params, x, prefix=""):
    x = x.double().flatten(1)
    return _mlp(x, params, f"{prefix}fc.", f"{prefix}fc_mu."), _mlp(x, params, f"{prefix}fc.", f"{prefix}fc_logvar.")


def _decode(params, z, prefix=""):
    return _mlp(z.double(), params, f"{prefix}fc.", f"{prefix}fc_out.").view(-1, 1, 28, 28)


def _nelbo_parts(logits, x, mu, logvar):
    """Per-example (recon, kl) of the negative ELBO, each (B,), from torch.distributions."""
    # validate_args=False: MNIST grey levels are not in {0, 1}; log_prob is then the cross-entropy
    likelihood = Independent(Bernoulli(logits=logits.double(), validate_args=False), 3, validate_args=False)
    posterior = Normal(mu.double(), torch.exp(logvar.double() / 2))
    recon = -likelihood.log_prob(x.double())
    kl = kl_divergence(posterior, Normal(torch.zeros(()), torch.ones(()))).sum(-1)
    return recon, kl


# ------------------------------------------------------------------------------------------------ comparisons
def _messages(what, cases, outputs, verify_one):
    """Run ``verify_one(case, output)`` per case; a recorded error string becomes the message."""
    found = []
    for case, output in zip(cases, outputs):
        found += [f"{what} raised an error: {output}"] if isinstance(output, str) else verify_one(case, output)
    return list(dict.fromkeys(found))[:MAX_MESSAGES]


def _mismatch(what, got, want, rtol=RTOL, atol=ATOL):
    """A message when ``got`` (student) differs from ``want`` (oracle), else None."""
    if tuple(got.shape) != tuple(want.shape):
        return f"{what}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}"
    # In place, on a copy: samples are millions of values, and each temporary would cost a pass over memory.
    excess = got.to(torch.float64, copy=True).sub_(want).abs_().sub_(want.double().abs().mul_(rtol).add_(atol))
    excess.nan_to_num_(nan=math.inf)
    if (excess > 0).any():
        i = int(excess.flatten().argmax())  # inf and nan come first
        where = " (largest mismatch)" if want.numel() > 1 else ""
        return f"{what}: expected {want.flatten()[i].item():.6g}, got {got.flatten()[i].item():.6g}{where}"
    return None


def _scalar_mismatch(what, got, want, rtol=RTOL, atol=1e-3):
    if got.numel() != 1:
        return f"{what}: expected a single number, got shape {tuple(got.shape)}"
    return _mismatch(what, got.reshape(()), torch.as_tensor(want, dtype=torch.float64), rtol, atol)


def statistics_per_test(m):
    """K: the statistics one test of m columns computes (mean, variance, 2 lags, distribution; pairs)."""
    return 5 * m + m * (m - 1) // 2


def _bound(n, x):
    """Half-width of a sum of n products or squares (see above): 2 sqrt(n x) + 2 x."""
    return 2 * math.sqrt(n * x) + 2 * x


def _kolmogorov_distance(column):
    """sup_t |F_n(t) - Phi(t)| of one column's empirical distribution to the standard normal's."""
    n = len(column)
    phi = torch.special.ndtr(column.sort().values)
    steps = torch.arange(1, n + 1, dtype=torch.float64) / n
    return torch.maximum(steps - phi, phi - (steps - 1 / n)).max().item()


def _column_failures(column, label, what, x):
    """Messages for one column: its mean, variance, reused draws and distribution."""
    n, half = len(column), len(column) // 2
    failures = []
    sum_bound, square_bound, pair_bound = math.sqrt(2 * n * x), _bound(n, x), _bound(half, x)
    if abs(column.sum()) >= sum_bound:
        failures.append(f"{what} has mean {column.mean():+.3f} in {label}, expected 0 ± {sum_bound / n:.3f}")
    if abs(column.square().sum() - n) >= square_bound:
        failures.append(f"{what} has variance {column.square().mean():.3f} in {label}, expected 1 ± {square_bound / n:.3f}")
    for rows, first, second in (("i and i + n/2", column[:half], column[half:2 * half]),
                                ("2i and 2i + 1", column[0:2 * half:2], column[1:2 * half:2])):
        if abs(first @ second) >= pair_bound:
            failures.append(f"{what} repeats itself in {label}: rows {rows} are correlated ({(first @ second) / half:+.3f}, "
                            f"expected 0 ± {pair_bound / half:.3f}): draw fresh noise for every element")
    distance, allowed = _kolmogorov_distance(column), math.sqrt(x / (2 * n))
    if distance >= allowed:
        failures.append(f"{what} is not normally distributed in {label}: its distribution function is {distance:.3f} "
                        f"away from the standard normal one, expected at most {allowed:.3f}")
    return failures


def _standard_normal_failures(noise, labels, what):
    """Messages when the columns of ``noise`` (n, m) are not independent N(0, 1) (bounds derived above)."""
    n, m = noise.shape
    if not torch.isfinite(noise).all():
        return [f"{what} contains inf or nan"]
    x = math.log(4 * statistics_per_test(m) / FALSE_FAILURE)
    failures = [message for j in range(m) for message in _column_failures(noise[:, j], labels[j], what, x)]
    gram, cross_bound = noise.T @ noise, _bound(n, x)
    for j in range(m):
        for k in range(j):
            if abs(gram[j, k]) >= cross_bound:
                failures.append(
                    f"{what} is correlated between {labels[k]} and {labels[j]} ({gram[j, k] / n:+.3f}, "
                    f"expected 0 ± {cross_bound / n:.3f}): every element needs its own fresh noise"
                )
    return failures


def _call_labels(d, second="2nd call"):
    return [f"latent dim {j} ({call})" for call in ("1st call", second) for j in range(d)]


# ---------------------------------------------------------------------------------------------- reparameterize
# A trained encoder's log-variances reach far beyond the initial ones: about -20 for confident dimensions, and
# several units above 0 early in training. The cases span that range, so that clamping logvar shows.
LOGVAR_COLUMNS = ((0.5, 2.5), (-2.5, -0.5), (5.0, 8.0), (-20.0, -14.0))


def _reparameterize_cases(g):
    n = 20000
    # one log-variance per column, bounded away from 0 so that std = exp(logvar) is told apart
    logvar = torch.stack([_uniform(g, (), low, high) for low, high in LOGVAR_COLUMNS]).expand(n, len(LOGVAR_COLUMNS))
    std = torch.exp(logvar / 2)
    # means on the scale of each column's spread (at most 2), so that float32 keeps z - mu exact to 1e-6 of it
    moments = {"mu": 2 * _sigma(g, n, len(LOGVAR_COLUMNS)) * std.clamp(max=1.0), "logvar": logvar.clone(),
               "moments": torch.tensor(True)}
    shapes = [(2, 3, 5), (5,), (1, 5)]  # leading dims broadcast; no batch; a batch of one
    others = [{"mu": _sigma(g, *shape), "logvar": _uniform(g, shape, -2, 2), "moments": torch.tensor(False)}
              for shape in shapes]
    return [_float32(case) for case in (moments, *others)]


def _verify_reparameterize(cases, outputs):
    def one(case, out):
        mu, logvar = case["mu"].double(), case["logvar"].double()
        for name in ("z1", "z2"):
            if tuple(out[name].shape) != tuple(mu.shape):
                return [f"reparameterize: expected z of shape {tuple(mu.shape)} (the shape of mu), "
                        f"got {tuple(out[name].shape)}"]
        if not bool(case["moments"]):
            return []
        std = torch.exp(logvar / 2)
        noise = torch.cat([(out["z1"].double() - mu) / std, (out["z2"].double() - mu) / std], dim=1)
        what = "reparameterize: the noise (z - mu) / exp(logvar / 2)"
        labels = [f"{label}, logvar {value:+.1f}"
                  for label, value in zip(_call_labels(mu.shape[1]), logvar[0].repeat(2))]
        return _standard_normal_failures(noise, labels, what)

    return _messages("reparameterize", cases, outputs, one)


def _reparameterize_grad_cases(g):
    rows = 8
    logvar = torch.stack([_uniform(g, (rows,), low, high) for low, high in LOGVAR_COLUMNS], dim=1)
    shape = logvar.shape
    return [_float32({"mu": _sigma(g, *shape), "logvar": logvar, "w": _sigma(g, *shape)})]


def _verify_reparameterize_grad(cases, outputs):
    def one(case, out):
        w, z, mu = case["w"].double(), out["z"].double(), case["mu"].double()
        if z.shape != w.shape:
            return [f"reparameterize: expected z of shape {tuple(w.shape)}, got {tuple(z.shape)}"]
        found = [
            _mismatch("gradient of sum(w * z) with respect to mu (dz/dmu = 1)", out["dmu"], w),
            _mismatch("gradient of sum(w * z) with respect to logvar (dz/dlogvar = (z - mu) / 2)",
                      out["dlogvar"], w * (z - mu) / 2),
        ]
        return [message for message in found if message]

    return _messages("reparameterize", cases, outputs, one)


# ------------------------------------------------------------------------------------------- Encoder, Decoder
def _encoder_cases(g):
    cases = []
    for batch, latent, hidden in ((5, 3, 16), (1, 2, 8)):
        weights = {**_linear(g, "fc.", PIXELS, hidden), **_linear(g, "fc_mu.", hidden, latent),
                   **_linear(g, "fc_logvar.", hidden, latent)}
        cases.append(_float32({**weights, "x": _images(g, batch)}))
    return cases


def _verify_encoder(cases, outputs):
    def one(case, out):
        mu, logvar = _encode(case, case["x"])
        found = [
            _mismatch("Encoder mu for (B, 1, 28, 28) input", out["mu"], mu),
            _mismatch("Encoder logvar for (B, 1, 28, 28) input", out["logvar"], logvar),
            _mismatch("Encoder mu for (B, 784) input", out["mu_flat"], mu),
            _mismatch("Encoder logvar for (B, 784) input", out["logvar_flat"], logvar),
        ]
        return [message for message in found if message]

    return _messages("Encoder", cases, outputs, one)


def _decoder_cases(g):
    """Fresh weights, then weights scaled up so that logits reach about ±100, as a trained decoder's do on
    pixels it is sure of (a decoder that clamps or squashes its logits shows only there)."""
    cases = []
    for batch, latent, hidden, gain in ((5, 3, 16, 1.0), (1, 2, 8, 1.0), (6, 3, 16, 150.0)):
        weights = {**_linear(g, "fc.", latent, hidden), **_linear(g, "fc_out.", hidden, PIXELS)}
        for name in ("fc_out.weight", "fc_out.bias"):
            weights[name] = gain * weights[name]
        cases.append(_float32({**weights, "z": 1.5 * _sigma(g, batch, latent)}))
    return cases


def _decode_term_size(params, z):
    """|fc_out.weight| (|fc.weight| |z| + |fc.bias|) + |fc_out.bias|: a bound on the terms each logit adds up.

    float32 rounding moves a logit by a few units of 6e-8 times this, whatever the logit itself: with the
    large weights of a trained decoder a logit near 0 can be the sum of terms of ±100.
    """
    hidden = F.linear(z.double().abs(), params["fc.weight"].double().abs(), params["fc.bias"].double().abs())
    out = F.linear(hidden, params["fc_out.weight"].double().abs(), params["fc_out.bias"].double().abs())
    return out.view(-1, 1, 28, 28)


def _verify_decoder(cases, outputs):
    def one(case, out):
        tolerance = ATOL + RTOL * _decode_term_size(case, case["z"])
        message = _mismatch("Decoder logits (fc → ReLU → fc_out, no sigmoid)", out["out"], _decode(case, case["z"]),
                            atol=tolerance)
        return [message] if message else []

    return _messages("Decoder", cases, outputs, one)


# ------------------------------------------------------------------------------------------------------- VAE
def _vae_weights(g, latent, hidden):
    return {
        **_linear(g, "encoder.fc.", PIXELS, hidden),
        **_linear(g, "encoder.fc_mu.", hidden, latent),
        **_linear(g, "encoder.fc_logvar.", hidden, latent),
        **_linear(g, "decoder.fc.", latent, hidden),
        **_linear(g, "decoder.fc_out.", hidden, PIXELS),
    }


# float32 moves a pre-activation here by about 1e-7; within this distance of 0 it could fall on the other side
# of a ReLU's kink than in float64, where the gradient jumps: the forward cases keep every unit farther away.
KINK_MARGIN = 1e-3


def _clear_of_kinks(inputs, weight, bias):
    """``bias`` (float32) shifted unit by unit, in steps of 3 KINK_MARGIN, until no pre-activation
    inputs @ weightᵀ + bias is within KINK_MARGIN of 0; B examples block at most B of 2B + 1 steps."""
    pre = inputs.double() @ weight.double().T
    shifted = bias.double().clone()
    steps = sorted(range(-len(pre) - 1, len(pre) + 2), key=abs)
    for j in range(len(shifted)):
        shifted[j] = next(value for value in (shifted[j] + 3 * KINK_MARGIN * step for step in steps)
                          if bool(((pre[:, j] + value).abs() >= KINK_MARGIN).all()))
    return shifted.float()


def _vae_forward_cases(g):
    cases = []
    for batch, latent, hidden in ((4, 3, 16), (1, 2, 8)):
        case = {**_vae_weights(g, latent, hidden), "x": _images(g, batch), "eps": _sigma(g, batch, latent)}
        # weights of the objective whose gradient the probe records: sum(w_logits * logits + w_mu * mu + ...)
        for name, shape in (("w_logits", (batch, 1, 28, 28)), ("w_mu", (batch, latent)), ("w_logvar", (batch, latent))):
            case[name] = _sigma(g, *shape)
        case = _float32(case)
        x = case["x"].flatten(1)
        case["encoder.fc.bias"] = _clear_of_kinks(x, case["encoder.fc.weight"], case["encoder.fc.bias"])
        mu, logvar = _encode(case, case["x"], "encoder.")
        z = mu + torch.exp(logvar / 2) * case["eps"].double()
        case["decoder.fc.bias"] = _clear_of_kinks(z, case["decoder.fc.weight"], case["decoder.fc.bias"])
        cases.append(case)
    return cases


def _forward_oracle(case):
    """(logits, mu, logvar) in float64 and the gradient of the probe's objective for each parameter."""
    params = {name: value.double().requires_grad_() for name, value in case.items() if "." in name}
    mu, logvar = _encode(params, case["x"], "encoder.")
    logits = _decode(params, mu + torch.exp(logvar / 2) * case["eps"].double(), "decoder.")
    objective = sum((case[f"w_{name}"].double() * value).sum()
                    for name, value in (("logits", logits), ("mu", mu), ("logvar", logvar)))
    grads = dict(zip(params, torch.autograd.grad(objective, list(params.values()))))
    return logits.detach(), mu.detach(), logvar.detach(), grads


def _verify_vae_forward(cases, outputs):
    def one(case, out):
        logits, mu, logvar, grads = _forward_oracle(case)
        found = [
            _mismatch("VAE.forward mu (the encoder's output)", out["mu"], mu),
            _mismatch("VAE.forward logvar (the encoder's output)", out["logvar"], logvar),
            _mismatch("VAE.forward logits = decoder(reparameterize(mu, logvar))", out["logits"], logits),
            _mismatch("VAE.forward in eval mode: logits = decoder(reparameterize(mu, logvar)), sampled in eval mode "
                      "too", out["logits_eval"], logits),
        ]
        promise = "gradients must flow through z = reparameterize(mu, logvar) to both encoder heads"
        found += [_mismatch(f"gradient reaching {name} from the logits, mu and logvar of VAE.forward ({promise})",
                            out[f"grad.{name}"], grad)
                  for name, grad in grads.items()]
        return [message for message in found if message]

    return _messages("VAE.forward", cases, outputs, one)


def _vae_sample_cases(g):
    """Weights whose decoder is invertible on its first ``latent`` pixels, so z can be read back from a sample.

    decoder.fc = [A; -A; R] with A invertible and zero bias on the first 2 * latent units; fc_out maps those
    units to pixel j as relu(Az)_j - relu(-Az)_j = (Az)_j. So logit(p[:latent]) = A z + b, whatever z was.
    """
    latent, extra, n = 4, 4, 5000
    weights = _vae_weights(g, latent, 2 * latent + extra)
    q, _ = torch.linalg.qr(_sigma(g, latent, latent))
    a = q * _uniform(g, (latent,), 0.7, 1.4)
    weights["decoder.fc.weight"] = torch.cat([a, -a, _sigma(g, extra, latent) / math.sqrt(latent)])
    weights["decoder.fc.bias"][: 2 * latent] = 0
    weights["decoder.fc_out.weight"][:latent] = torch.cat(
        [torch.eye(latent), -torch.eye(latent), torch.zeros(latent, extra)], dim=1
    )
    return [_float32({**weights, "n": torch.tensor(n)})]


def _verify_vae_sample(cases, outputs):
    def one(case, out):
        n = int(case["n"])
        for name, size in (("first", n), ("second", n), ("one", 1)):
            p = out[name]
            if tuple(p.shape) != (size, 1, 28, 28):
                return [f"VAE.sample({size}): expected shape ({size}, 1, 28, 28), got {tuple(p.shape)}"]
            if not ((p >= 0) & (p <= 1)).all():
                return [f"VAE.sample({size}) must return pixel probabilities in [0, 1] (the sigmoid of the logits)"]
        if not bool(out["on_device"]):
            return ["VAE.sample must return its samples on the model's device"]
        calls = (("first", "1st call"), ("second", "2nd call, eval mode"))
        codes = [_latent_codes(case, out[name].double()) for name, _ in calls]
        for z, (name, label) in zip(codes, calls):
            decoded = torch.sigmoid(_decode(case, z, "decoder."))
            message = _mismatch(f"VAE.sample: sigmoid(decoder(z)) ({label})", out[name], decoded, 1e-3, 1e-4)
            if message:
                return [message]
        labels = _call_labels(codes[0].shape[1], second=calls[1][1])
        return _standard_normal_failures(torch.cat(codes, 1), labels, "VAE.sample: the z behind the samples")

    return _messages("VAE.sample", cases, outputs, one)


def _latent_codes(case, p):
    """Invert the decoder built by :func:`_vae_sample_cases` on its first pixels: p (n, 1, 28, 28) → z (n, d)."""
    latent = case["decoder.fc.weight"].shape[1]
    a = case["decoder.fc.weight"][:latent].double()
    logits = torch.logit(p.flatten(1)[:, :latent]) - case["decoder.fc_out.bias"][:latent].double()
    return torch.linalg.solve(a, logits.T).T


# -------------------------------------------------------------------------------------------------- vae_loss
def _vae_loss_case(g, batch, latent, logits, logvar_range=(-3, 1.5)):
    return _float32({
        "logits": logits,
        "x": _images(g, batch),
        "mu": 1.5 * _sigma(g, batch, latent),
        "logvar": _uniform(g, (batch, latent), *logvar_range),
    })


def _vae_loss_cases(g):
    return [_vae_loss_case(g, 6, 5, 3 * _sigma(g, 6, 1, 28, 28)), _vae_loss_case(g, 1, 2, _sigma(g, 1, 1, 28, 28))]


def _vae_loss_stable_cases(g):
    """Logits of ±50 and ±100 against the opposite pixel value: log(sigmoid(.)) gives inf or a clamp there.
    Then the log-variances of a trained encoder (LOGVAR_COLUMNS' extremes): a KL that clamps logvar, or takes
    the log of exp(logvar) + a small constant, is wrong there."""
    batch = 3
    case = _vae_loss_case(g, batch, 4, 2 * _sigma(g, batch, 1, 28, 28))
    extreme = torch.rand(batch, 1, 28, 28, generator=g) < 0.3
    big = torch.tensor([50.0, 100.0])[torch.randint(2, (batch, 1, 28, 28), generator=g)]
    sign = torch.where(torch.rand(batch, 1, 28, 28, generator=g) < 0.5, 1.0, -1.0)
    case["logits"] = torch.where(extreme, sign * big, case["logits"])
    case["x"] = torch.where(extreme, (sign < 0).float(), case["x"])  # confidently wrong pixels
    ranges = (LOGVAR_COLUMNS[3], LOGVAR_COLUMNS[2])
    return [case] + [_vae_loss_case(g, 2, 4, 2 * _sigma(g, 2, 1, 28, 28), logvar_range) for logvar_range in ranges]


def _loss_gradients(case):
    """The gradient of the oracle's loss (the batch mean of recon + kl) with respect to logits, mu and logvar."""
    inputs = {name: case[name].double().requires_grad_() for name in ("logits", "mu", "logvar")}
    recon, kl = _nelbo_parts(inputs["logits"], case["x"], inputs["mu"], inputs["logvar"])
    return dict(zip(inputs, torch.autograd.grad((recon + kl).mean(), list(inputs.values()))))


def _verify_vae_loss(cases, outputs):
    def one(case, out):
        recon, kl = (part.mean() for part in _nelbo_parts(case["logits"], case["x"], case["mu"], case["logvar"]))
        found = [
            _scalar_mismatch("vae_loss recon (Bernoulli NLL summed over pixels, mean over the batch)", out["recon"], recon),
            _scalar_mismatch("vae_loss kl (KL summed over latent dims, mean over the batch)", out["kl"], kl),
            _scalar_mismatch("vae_loss loss (recon + kl)", out["loss"], recon + kl),
        ]
        if not any(found):  # right values: then the loss must also differentiate to them
            found += [_mismatch(f"gradient of vae_loss's loss with respect to {name} (the loss must be computed from "
                                f"{name} with differentiable torch operations)", out[f"grad_{name}"], grad)
                      for name, grad in _loss_gradients(case).items()]
        return [message for message in found if message]

    return _messages("vae_loss", cases, outputs, one)


# ----------------------------------------------------------------------------------------- train_epoch, evaluate
# The probes run these functions on a small linear VAE ("enc": 784 → 2d giving mu and logvar, "dec": d → 784)
# whose noise comes from the case, and with a reference loss, so that only train_epoch / evaluate is graded.
def _epoch_case(g, n, one_shot):
    latent = 3
    weights = {**_linear(g, "enc.", PIXELS, 2 * latent), **_linear(g, "dec.", latent, PIXELS)}
    weights["dec.bias"] = weights["dec.bias"] - 3  # mostly dark pixels, so a heavily inked image costs more
    weights["enc.bias"] = _uniform(g, (2 * latent,), -1.5, 1.5)  # codes away from the prior: a KL of a few nats
    # the last (short) batch holds heavily inked images: its mean loss stands apart from the others
    x = torch.cat([_images(g, n - 2, ink=0.15), _images(g, 2, ink=0.9)])
    case = {**weights, "x": x, "labels": torch.randint(10, (n,), generator=g), "eps": _sigma(g, n, latent),
            "batch_size": torch.tensor(5), "lr": torch.tensor(0.01, dtype=torch.float64),
            "one_shot": torch.tensor(one_shot)}
    return _float32(case)


def _epoch_cases(g):
    """A re-iterable loader (batches of 5, 5, 2); then a generator, which can be iterated only once, whose
    last batch holds a single image (5, 5, 1): "anything you can iterate over" includes both."""
    return [_epoch_case(g, 12, one_shot=False), _epoch_case(g, 11, one_shot=True)]


def _loader_kind(case):
    if bool(case["one_shot"]):
        return f"a loader that can be iterated only once (a generator of {_batch_count(case)} batches)"
    return f"a loader of {_batch_count(case)} batches"


def _batch_count(case):
    return math.ceil(len(case["x"]) / int(case["batch_size"]))


def _batch_losses(params, case):
    """Per-example negative ELBO (B,) of the stand-in VAE, batch by batch, as the probe's loader yields them."""
    size = int(case["batch_size"])
    for x, eps in zip(case["x"].split(size), case["eps"].split(size)):
        mu, logvar = F.linear(x.double().flatten(1), params["enc.weight"], params["enc.bias"]).chunk(2, dim=1)
        z = mu + torch.exp(logvar / 2) * eps.double()
        logits = F.linear(z, params["dec.weight"], params["dec.bias"]).view(-1, 1, 28, 28)
        recon, kl = _nelbo_parts(logits, x, mu, logvar)
        yield recon + kl


def _standin_params(case):
    return {name: case[name].double().clone().requires_grad_() for name in ("enc.weight", "enc.bias", "dec.weight", "dec.bias")}


def _oracle_epoch(case):
    """Plain SGD, one step per batch on the batch-mean loss → (epoch mean per-example loss, parameters after)."""
    params, total, lr = _standin_params(case), 0.0, float(case["lr"])
    for losses in _batch_losses(params, case):
        total += losses.sum().item()
        grads = torch.autograd.grad(losses.mean(), list(params.values()))
        with torch.no_grad():
            for param, grad in zip(params.values(), grads):
                param -= lr * grad
    return total / len(case["x"]), {name: param.detach() for name, param in params.items()}


def _verify_train_epoch(cases, outputs):
    def one(case, out):
        loss, params = _oracle_epoch(case)
        if int(out["steps"]) != _batch_count(case):
            return [f"train_epoch made {int(out['steps'])} optimizer steps over {_loader_kind(case)}; expected one per "
                    "batch, in a single pass over the loader"]
        found = [_scalar_mismatch("train_epoch return value (mean per-example loss over the epoch)", out["loss"], loss)]
        found += [
            _mismatch(f"parameter {name} after train_epoch (zero the gradients, backward, step, for each batch)",
                      out[f"param.{name}"], value)
            for name, value in params.items()
        ]
        return [message for message in found if message]

    return _messages("train_epoch", cases, outputs, one)


def _verify_evaluate(cases, outputs):
    def one(case, out):
        if bool(out["grad_enabled"]):
            return ["evaluate must run the model under torch.no_grad()"]
        if bool(out["has_grad"]):
            return ["evaluate must not compute gradients (no backward)"]
        if int(out["forward_calls"]) != _batch_count(case):
            return [f"evaluate called the model {int(out['forward_calls'])} times over {_loader_kind(case)}; expected "
                    "once per batch, in a single pass over the loader"]
        params = _standin_params(case)
        loss = torch.cat(list(_batch_losses(params, case))).mean().item()
        found = [_scalar_mismatch("evaluate return value (mean per-example negative ELBO)", out["loss"], loss)]
        found += [_mismatch(f"parameter {name} after evaluate (must not change)", out[f"param.{name}"], value.detach())
                  for name, value in params.items()]
        return [message for message in found if message]

    return _messages("evaluate", cases, outputs, one)


CHECKS = [
    Check("test_reparameterize", "VAE", _reparameterize_cases, _verify_reparameterize),
    Check("test_reparameterize_grad", "VAE", _reparameterize_grad_cases, _verify_reparameterize_grad),
    Check("test_Encoder", "VAE", _encoder_cases, _verify_encoder),
    Check("test_Decoder", "VAE", _decoder_cases, _verify_decoder),
    Check("test_VAE_forward", "VAE", _vae_forward_cases, _verify_vae_forward),
    Check("test_VAE_sample", "VAE", _vae_sample_cases, _verify_vae_sample),
    Check("test_vae_loss", "VAE", _vae_loss_cases, _verify_vae_loss),
    Check("test_vae_loss_stable", "VAE", _vae_loss_stable_cases, _verify_vae_loss),
    Check("test_train_epoch", "VAE", _epoch_cases, _verify_train_epoch),
    Check("test_evaluate", "VAE", _epoch_cases, _verify_evaluate),
]
