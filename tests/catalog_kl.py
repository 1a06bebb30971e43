"""Realistic student solution cells for KL_derivation.ipynb, to test the hidden checks against.

Each entry is the full source of a solution cell (starting with its ``def`` line). It runs in a namespace
that already holds ``torch``, ``math`` and the reference solutions of the other graded functions, as the
notebook does. Every RIGHT entry must pass every check of its function; every WRONG entry must fail one.
"""

WRONG = {
    "mvn_log_prob": {
        "no_half_on_quadratic": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False).squeeze(-1)
    log_det = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return -z.square().sum(-1) - 0.5 * log_det - 0.5 * k * math.log(2 * math.pi)
''',
        "log_det_sign": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ torch.linalg.solve(Sigma, d)).squeeze(-1).squeeze(-1)
    return -0.5 * quad + 0.5 * torch.logdet(Sigma) - 0.5 * k * math.log(2 * math.pi)
''',
        "sigma_instead_of_inverse": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ Sigma @ d).squeeze(-1).squeeze(-1)
    return -0.5 * quad - 0.5 * torch.logdet(Sigma) - 0.5 * k * math.log(2 * math.pi)
''',
        "no_normalising_constant": '''
def mvn_log_prob(x, mu, Sigma):
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ torch.linalg.solve(Sigma, d)).squeeze(-1).squeeze(-1)
    return -0.5 * quad - 0.5 * torch.logdet(Sigma)
''',
        "log_pi_instead_of_log_2pi": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ torch.linalg.solve(Sigma, d)).squeeze(-1).squeeze(-1)
    return -0.5 * quad - 0.5 * torch.logdet(Sigma) - 0.5 * k * math.log(math.pi)
''',
        "vectors_only": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[0]
    d = x - mu
    quad = d @ torch.linalg.solve(Sigma, d)
    return -0.5 * quad - 0.5 * torch.logdet(Sigma) - 0.5 * k * math.log(2 * math.pi)
''',
        "sum_over_first_dim": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False).squeeze(-1)
    half_log_det = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(0)
    return -0.5 * (z ** 2).sum(0) - half_log_det - 0.5 * k * math.log(2 * math.pi)
''',
        "float32_accumulator": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False).squeeze(-1)
    out = torch.zeros(z.shape[:-1])
    out -= 0.5 * (z ** 2).sum(-1) + torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return out - 0.5 * k * math.log(2 * math.pi)
''',
        "diagonal_only": '''
def mvn_log_prob(x, mu, Sigma):
    var = torch.diagonal(Sigma, dim1=-2, dim2=-1)
    return (-0.5 * (x - mu) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)).sum(-1)
''',
        # edges: the largest promised k, batches of one, arguments batched alone
        "explicit_determinant": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ torch.linalg.solve(Sigma, d)).squeeze(-1).squeeze(-1)
    return -0.5 * quad - 0.5 * torch.log(torch.det(Sigma)) - 0.5 * k * math.log(2 * math.pi)
''',
        "squeeze_drops_batch_of_one": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False)
    half_log_det = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return (-0.5 * z.square().sum((-2, -1)) - half_log_det - 0.5 * k * math.log(2 * math.pi)).squeeze()
''',
        "batch_shape_of_x_only": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    d = (x - mu).reshape(-1, k, 1)
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, d, upper=False).reshape(-1, k)
    half_log_det = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return (-0.5 * z.square().sum(-1) - half_log_det - 0.5 * k * math.log(2 * math.pi)).reshape(x.shape[:-1])
''',
    },
    "kl_mvn": {
        "no_minus_k": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "no_half": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1)
''',
        "trace_swapped": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma1, Sigma2).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "log_det_ratio_inverted": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma1) - torch.logdet(Sigma2))
''',
        "sigma_instead_of_inverse_in_mean_term": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ Sigma2 @ d).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "sigma1_in_mean_term": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma1, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "explicit_determinants": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    inv2 = torch.linalg.inv(Sigma2)
    trace = (inv2 @ Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ inv2 @ d).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.log(torch.det(Sigma2) / torch.det(Sigma1)))
''',
        "unbatched_only": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = mu2 - mu1
    inv2 = torch.linalg.inv(Sigma2)
    return 0.5 * (torch.trace(inv2 @ Sigma1) + d @ inv2 @ d - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "always_float32": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    mu1, Sigma1, mu2, Sigma2 = mu1.float(), Sigma1.float(), mu2.float(), Sigma2.float()
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "trace_of_cholesky_ratio": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    L1, L2 = torch.linalg.cholesky(Sigma1), torch.linalg.cholesky(Sigma2)
    A = torch.linalg.solve_triangular(L2, L1, upper=False)
    trace = A.diagonal(dim1=-2, dim2=-1).sum(-1)
    z = torch.linalg.solve_triangular(L2, (mu2 - mu1).unsqueeze(-1), upper=False)
    log_det_ratio = 2 * (L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return 0.5 * (trace + z.square().sum((-2, -1)) - k + log_det_ratio)
''',
        "squeeze_drops_batch_of_one": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    L1, L2 = torch.linalg.cholesky(Sigma1), torch.linalg.cholesky(Sigma2)
    A = torch.linalg.solve_triangular(L2, L1, upper=False)
    z = torch.linalg.solve_triangular(L2, (mu2 - mu1).unsqueeze(-1), upper=False)
    log_det_ratio = 2 * (L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return (0.5 * (A.square().sum((-2, -1)) + z.square().sum((-2, -1)) - k + log_det_ratio)).squeeze()
''',
        "batch_shape_of_mu1_only": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    batch = mu1.shape[:-1]
    L1 = torch.linalg.cholesky(Sigma1).expand(*batch, k, k)
    L2 = torch.linalg.cholesky(Sigma2).expand(*batch, k, k)
    A = torch.linalg.solve_triangular(L2, L1, upper=False)
    z = torch.linalg.solve_triangular(L2, (mu2 - mu1).expand(*batch, k).unsqueeze(-1), upper=False)
    log_det_ratio = 2 * (L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return 0.5 * (A.square().sum((-2, -1)) + z.square().sum((-2, -1)) - k + log_det_ratio)
''',
    },
    "kl_mc": {
        "samples_from_q": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L2 = torch.linalg.cholesky(Sigma2)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu2 + (L2 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "log_ratio_flipped": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu2, Sigma2) - mvn_log_prob(x, mu1, Sigma1)).mean(0)
''',
        "row_vector_times_cholesky": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, 1, mu1.shape[-1], generator=generator, dtype=mu1.dtype)
    x = mu1 + (eps @ L1).squeeze(-2)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "covariance_instead_of_square_root": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (Sigma1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "independent_coordinates": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    std = torch.diagonal(Sigma1, dim1=-2, dim2=-1).sqrt()
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], generator=generator, dtype=mu1.dtype)
    x = mu1 + std * eps
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "ignores_generator": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "reseeds_global_rng": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    torch.manual_seed(0)
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "sum_instead_of_mean": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).sum(0)
''',
        "single_draw": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(*batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)
''',
        "randn_default_dtype": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        # Estimators with the right mean and the wrong distribution: only the statistical tests catch them.
        "closed_form_plus_small_noise": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # never samples: the exact value, blurred a little so that it looks like a very good estimate (0 when p = q)
    exact = kl_mvn(mu1, Sigma1, mu2, Sigma2)
    return exact * (1 + 0.001 * torch.randn(exact.shape, generator=generator, dtype=exact.dtype))
''',
        "closed_form": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    return kl_mvn(mu1, Sigma1, mu2, Sigma2)
''',
        "reuses_draws": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # a tenth of the draws, each used ten times: n_samples terms, but the variance of n_samples / 10
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples // 10, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps.repeat(10, *[1] * (eps.dim() - 1))).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "half_the_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples // 2, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "twice_the_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(2 * n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "shares_noise_across_batch": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # one set of draws, broadcast over every pair of the batch
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps.view(n_samples, *[1] * (mu1.dim() - 1), mu1.shape[-1], 1)).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        # the generator's whole contract, sizes from 1 to large, arguments batched alone
        "reseeds_a_copy_of_the_generator": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    if generator is not None:  # the same seed, but the caller's generator never moves on
        generator = torch.Generator().manual_seed(generator.initial_seed())
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "restores_the_generator_state": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    state = generator.get_state() if generator is not None else None
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    if state is not None:
        generator.set_state(state)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "fixed_seed_without_generator": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    generator = generator or torch.Generator().manual_seed(0)
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "seeds_the_global_generator_too": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    if generator is not None:
        torch.manual_seed(generator.initial_seed())  # "reproducible everywhere": clobbers the caller's global state
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "at_most_10000_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    n = min(n_samples, 10_000)  # "enough" samples
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "divides_by_n_plus_one": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).sum(0) / (n_samples + 1)
''',
        "unbiased_divisor_n_minus_one": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).sum(0) / (n_samples - 1)
''',
        "batch_shape_of_p_only": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # samples for p's batch only: pairs that differ only in q share their draws
    batch = torch.broadcast_shapes(mu1.shape[:-1], Sigma1.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "squeeze_drops_batch_of_one": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0).squeeze()
''',
    },
    "kl_diag_std_normal": {
        "logvar_as_std": '''
def kl_diag_std_normal(mu, logvar):
    var = logvar ** 2
    return 0.5 * (var + mu ** 2 - 1 - torch.log(var)).sum(-1)
''',
        "logvar_as_variance": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar + mu ** 2 - 1 - torch.log(logvar)).sum(-1)
''',
        "std_instead_of_variance": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (torch.exp(0.5 * logvar) + mu ** 2 - 1 - logvar).sum(-1)
''',
        "mean_over_latents": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).mean(-1)
''',
        "sum_over_everything": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * torch.sum(logvar.exp() + mu ** 2 - 1 - logvar)
''',
        "sum_over_first_dim": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(0)
''',
        "no_half": '''
def kl_diag_std_normal(mu, logvar):
    return (logvar.exp() + mu ** 2 - 1 - logvar).sum(-1)
''',
        "logvar_sign": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 + logvar).sum(-1)
''',
        "no_minus_one": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - logvar).sum(-1)
''',
        "float32_sum": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * torch.sum(logvar.exp() + mu ** 2 - 1 - logvar, dim=-1, dtype=torch.float32)
''',
        # edges: a trained encoder's log-variances, arguments batched alone, batches of one
        "logvar_clamped": '''
def kl_diag_std_normal(mu, logvar):
    logvar = logvar.clamp(-10.0, 10.0)  # "for stability"
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(-1)
''',
        "log_of_variance_plus_epsilon": '''
def kl_diag_std_normal(mu, logvar):
    var = logvar.exp()
    return 0.5 * (var + mu ** 2 - 1 - torch.log(var + 1e-8)).sum(-1)
''',
        "squeeze_drops_batch_of_one": '''
def kl_diag_std_normal(mu, logvar):
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(-1).squeeze()
''',
        "rows_of_mu_only": '''
def kl_diag_std_normal(mu, logvar):
    d = mu.shape[-1]
    terms = logvar.exp().reshape(-1, d) + mu.reshape(-1, d) ** 2 - 1 - logvar.reshape(-1, d)
    return 0.5 * terms.sum(-1).reshape(mu.shape[:-1])
''',
    },
}

RIGHT = {
    "mvn_log_prob": {
        "cholesky": '''
def mvn_log_prob(x, mu, Sigma):
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False).squeeze(-1)
    log_det = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return -0.5 * (z.unsqueeze(-2) @ z.unsqueeze(-1)).squeeze((-2, -1)) - 0.5 * log_det - 0.5 * x.shape[-1] * math.log(2 * math.pi)
''',
        "solve_and_logdet": '''
def mvn_log_prob(x, mu, Sigma):
    d = (x - mu).unsqueeze(-1)
    quad = (d.mT @ torch.linalg.solve(Sigma, d)).squeeze(-1).squeeze(-1)
    return -0.5 * (quad + torch.logdet(Sigma) + x.shape[-1] * math.log(2 * math.pi))
''',
        "inverse_and_slogdet": '''
def mvn_log_prob(x, mu, Sigma):
    d = x - mu
    quad = torch.einsum("...i,...ij,...j->...", d, torch.linalg.inv(Sigma), d)
    _, log_det = torch.linalg.slogdet(Sigma)
    return -0.5 * (quad + log_det + x.shape[-1] * math.log(2 * math.pi))
''',
        "float64_inside": '''
def mvn_log_prob(x, mu, Sigma):
    dtype = x.dtype
    x, mu, Sigma = x.double(), mu.double(), Sigma.double()
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, (x - mu).unsqueeze(-1), upper=False).squeeze(-1)
    out = -0.5 * z.pow(2).sum(-1) - L.diagonal(dim1=-2, dim2=-1).log().sum(-1) - 0.5 * x.shape[-1] * math.log(2 * math.pi)
    return out.to(dtype)
''',
        "eigendecomposition": '''
def mvn_log_prob(x, mu, Sigma):
    lam, V = torch.linalg.eigh(Sigma)
    y = (V.mT @ (x - mu).unsqueeze(-1)).squeeze(-1)
    return -0.5 * (y ** 2 / lam + torch.log(2 * math.pi * lam)).sum(-1)
''',
        "broadcast_first_then_flatten": '''
def mvn_log_prob(x, mu, Sigma):
    k = x.shape[-1]
    batch = torch.broadcast_shapes(x.shape[:-1], mu.shape[:-1], Sigma.shape[:-2])
    d = (x - mu).expand(*batch, k).reshape(-1, k, 1)
    L = torch.linalg.cholesky(Sigma).expand(*batch, k, k).reshape(-1, k, k)
    z = torch.linalg.solve_triangular(L, d, upper=False)
    out = -0.5 * z.square().sum((-2, -1)) - L.diagonal(dim1=-2, dim2=-1).log().sum(-1) - 0.5 * k * math.log(2 * math.pi)
    return out.reshape(batch)
''',
    },
    "kl_mvn": {
        "cholesky": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    L1, L2 = torch.linalg.cholesky(Sigma1), torch.linalg.cholesky(Sigma2)
    A = torch.linalg.solve_triangular(L2, L1, upper=False)
    z = torch.linalg.solve_triangular(L2, (mu2 - mu1).unsqueeze(-1), upper=False)
    log_det_ratio = 2 * (L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    return 0.5 * (A.square().sum((-2, -1)) + z.square().sum((-2, -1)) - k + log_det_ratio)
''',
        "solve_and_logdet": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    d = (mu2 - mu1).unsqueeze(-1)
    trace = torch.linalg.solve(Sigma2, Sigma1).diagonal(dim1=-2, dim2=-1).sum(-1)
    maha = (d.mT @ torch.linalg.solve(Sigma2, d)).squeeze(-1).squeeze(-1)
    return 0.5 * (trace + maha - k + torch.logdet(Sigma2) - torch.logdet(Sigma1))
''',
        "inverse_and_slogdet": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    k = mu1.shape[-1]
    P = torch.linalg.inv(Sigma2)
    d = mu2 - mu1
    trace = (P * Sigma1.mT).sum((-2, -1))
    maha = torch.einsum("...i,...ij,...j->...", d, P, d)
    log_det_ratio = torch.linalg.slogdet(Sigma2).logabsdet - torch.linalg.slogdet(Sigma1).logabsdet
    return 0.5 * (trace + maha - k + log_det_ratio)
''',
        "float64_inside": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    dtype = mu1.dtype
    mu1, Sigma1, mu2, Sigma2 = (t.to(torch.float64) for t in (mu1, Sigma1, mu2, Sigma2))
    k = mu1.shape[-1]
    L2 = torch.linalg.cholesky(Sigma2)
    trace = torch.cholesky_solve(Sigma1, L2).diagonal(dim1=-2, dim2=-1).sum(-1)
    d = (mu2 - mu1).unsqueeze(-1)
    maha = (d * torch.cholesky_solve(d, L2)).sum((-2, -1))
    log_det_ratio = 2 * L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - torch.logdet(Sigma1)
    return (0.5 * (trace + maha - k + log_det_ratio)).to(dtype)
''',
        "via_expected_log_ratio": '''
def kl_mvn(mu1, Sigma1, mu2, Sigma2):
    # KL = E_p[ln p] - E_p[ln q]: the entropy part and the cross-entropy part separately
    k = mu1.shape[-1]
    L1, L2 = torch.linalg.cholesky(Sigma1), torch.linalg.cholesky(Sigma2)
    half_log_det1 = L1.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    half_log_det2 = L2.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    neg_entropy = -0.5 * k * (1 + math.log(2 * math.pi)) - half_log_det1
    A = torch.linalg.solve_triangular(L2, L1, upper=False)
    z = torch.linalg.solve_triangular(L2, (mu1 - mu2).unsqueeze(-1), upper=False)
    cross = -0.5 * (A.square().sum((-2, -1)) + z.square().sum((-2, -1))) - half_log_det2 - 0.5 * k * math.log(2 * math.pi)
    return neg_entropy - cross
''',
    },
    "kl_mc": {
        "cholesky_column_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "row_samples_times_cholesky_transpose": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(*batch, n_samples, mu1.shape[-1], generator=generator, dtype=mu1.dtype)
    x = mu1.unsqueeze(-2) + eps @ L1.mT  # (..., n, k)
    log_ratio = mvn_log_prob(x, mu1.unsqueeze(-2), Sigma1.unsqueeze(-3)) - mvn_log_prob(x, mu2.unsqueeze(-2), Sigma2.unsqueeze(-3))
    return log_ratio.mean(-1)
''',
        "eigen_square_root": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    lam, V = torch.linalg.eigh(Sigma1)
    root = V * lam.sqrt().unsqueeze(-2)  # V diag(sqrt(lam)), so root @ root.T = Sigma1
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], generator=generator, dtype=mu1.dtype)
    x = mu1 + torch.einsum("...ij,...j->...i", root, eps)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "float64_inside": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    dtype = mu1.dtype
    mu1, Sigma1, mu2, Sigma2 = mu1.double(), Sigma1.double(), mu2.double(), Sigma2.double()
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=torch.float64)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0).to(dtype)
''',
        "own_log_ratio_with_whitened_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # ln p(x) - ln q(x) written out: with x = mu1 + L1 eps, the p-part only needs |eps|^2
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1, L2 = torch.linalg.cholesky(Sigma1), torch.linalg.cholesky(Sigma2)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
    x = mu1.unsqueeze(-1) + L1 @ eps
    z = torch.linalg.solve_triangular(L2, x - mu2.unsqueeze(-1), upper=False)
    log_det_ratio = 2 * (L2.diagonal(dim1=-2, dim2=-1).log().sum(-1) - L1.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    log_ratio = 0.5 * (z.square().sum((-2, -1)) - eps.square().sum((-2, -1)) + log_det_ratio)
    return log_ratio.mean(0)
''',
        "child_generator_drawn_from_generator": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    # one number from `generator` seeds a private generator: reproducible, and `generator` moves on
    seed = torch.randint(0, 2**62, (), generator=generator).item()
    private = torch.Generator().manual_seed(seed)
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    eps = torch.randn(n_samples, *batch, mu1.shape[-1], 1, generator=private, dtype=mu1.dtype)
    x = mu1 + (L1 @ eps).squeeze(-1)
    return (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).mean(0)
''',
        "chunks_of_4096_samples": '''
def kl_mc(mu1, Sigma1, mu2, Sigma2, n_samples, generator=None):
    batch = torch.broadcast_shapes(mu1.shape[:-1], mu2.shape[:-1], Sigma1.shape[:-2], Sigma2.shape[:-2])
    L1 = torch.linalg.cholesky(Sigma1)
    total = torch.zeros(batch, dtype=mu1.dtype)
    for start in range(0, n_samples, 4096):
        m = min(4096, n_samples - start)
        eps = torch.randn(m, *batch, mu1.shape[-1], 1, generator=generator, dtype=mu1.dtype)
        x = mu1 + (L1 @ eps).squeeze(-1)
        total = total + (mvn_log_prob(x, mu1, Sigma1) - mvn_log_prob(x, mu2, Sigma2)).sum(0)
    return total / n_samples
''',
    },
    "kl_diag_std_normal": {
        "formula": '''
def kl_diag_std_normal(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)
''',
        "variance_first": '''
def kl_diag_std_normal(mu, logvar):
    var = torch.exp(logvar)
    return 0.5 * (var + mu * mu - 1 - torch.log(var)).sum(dim=-1)
''',
        "torch_distributions": '''
def kl_diag_std_normal(mu, logvar):
    from torch.distributions import Normal, kl_divergence
    q = Normal(mu, torch.exp(0.5 * logvar))
    return kl_divergence(q, Normal(torch.zeros_like(q.loc), torch.ones_like(q.scale))).sum(-1)
''',
        "via_kl_mvn": '''
def kl_diag_std_normal(mu, logvar):
    mu, logvar = torch.broadcast_tensors(mu, logvar)
    d = mu.shape[-1]
    eye = torch.eye(d, dtype=mu.dtype)
    return kl_mvn(mu, torch.diag_embed(logvar.exp()), torch.zeros_like(mu), eye)
''',
        "expm1_with_broadcast_shapes": '''
def kl_diag_std_normal(mu, logvar):
    # exp(logvar) - 1 - logvar = expm1(logvar) - logvar, exact near logvar = 0 as well
    mu, logvar = torch.broadcast_tensors(mu, logvar)
    return 0.5 * (torch.expm1(logvar) - logvar + mu.square()).sum(dim=-1, keepdim=True).squeeze(-1)
''',
    },
}
