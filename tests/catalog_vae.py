"""Implementations of the VAE notebook's graded names, for testing the checks.

``WRONG[name]`` holds mistakes students make; each must fail at least one check of ``name``.
``RIGHT[name]`` holds other correct ways to write it; each must pass every check of ``name``.
Every entry is a whole solution cell. It runs in the source notebook's namespace (torch, nn, F, math and the
other graded names).
"""

WRONG = {
    "reparameterize": {
        "std = exp(logvar)": """
def reparameterize(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)
""",
        "logvar used as the standard deviation": """
def reparameterize(mu, logvar):
    return mu + logvar * torch.randn_like(mu)
""",
        "one eps for the whole batch": """
def reparameterize(mu, logvar):
    eps = torch.randn(mu.shape[-1])
    return mu + torch.exp(0.5 * logvar) * eps
""",
        "one eps per example, shared by the latent dimensions": """
def reparameterize(mu, logvar):
    eps = torch.randn(*mu.shape[:-1], 1)
    return mu + torch.exp(0.5 * logvar) * eps
""",
        "seeded inside, so the same eps at every call": """
def reparameterize(mu, logvar):
    torch.manual_seed(0)
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
""",
        "uniform noise": """
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.rand_like(mu)
""",
        "torch.normal(mu, std): no gradient reaches mu and logvar": """
def reparameterize(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))
""",
        "standard deviation detached": """
def reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu)
""",
        "half the draws, used twice": """
def reparameterize(mu, logvar):
    half = torch.randn_like(mu[: (len(mu) + 1) // 2])
    eps = torch.cat([half, half])[: len(mu)]
    return mu + torch.exp(0.5 * logvar) * eps
""",
        "neighbouring rows share eps": """
def reparameterize(mu, logvar):
    eps = torch.randn_like(mu[::2]).repeat_interleave(2, dim=0)[: len(mu)]
    return mu + torch.exp(0.5 * logvar) * eps
""",
        "Laplace noise with variance 1": """
def reparameterize(mu, logvar):
    u = torch.rand_like(mu) - 0.5
    eps = -torch.sign(u) * torch.log1p(-2 * u.abs()) / math.sqrt(2)  # Laplace, scale 1/sqrt(2): mean 0, variance 1
    return mu + torch.exp(0.5 * logvar) * eps
""",
        "logvar clamped to [-10, 10]": """
def reparameterize(mu, logvar):
    std = torch.exp(0.5 * logvar.clamp(-10.0, 10.0))  # "for stability"
    return mu + std * torch.randn_like(mu)
""",
    },
    "Encoder": {
        "no ReLU": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = self.fc(x.view(len(x), -1))
        return self.fc_mu(h), self.fc_logvar(h)
""",
        "mu and logvar swapped": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = F.relu(self.fc(x.view(len(x), -1)))
        return self.fc_logvar(h), self.fc_mu(h)
""",
        "returns the variance instead of its logarithm": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = F.relu(self.fc(x.view(len(x), -1)))
        return self.fc_mu(h), torch.exp(self.fc_logvar(h))
""",
        "ReLU on the outputs too": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = F.relu(self.fc(x.view(len(x), -1)))
        return F.relu(self.fc_mu(h)), F.relu(self.fc_logvar(h))
""",
        "tanh instead of ReLU": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = torch.tanh(self.fc(x.view(len(x), -1)))
        return self.fc_mu(h), self.fc_logvar(h)
""",
        "layers named differently (nn.Sequential)": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden_dim), nn.ReLU())
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = self.body(x)
        return self.fc_mu(h), self.fc_logvar(h)
""",
    },
    "Decoder": {
        "sigmoid output (probabilities, not logits)": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return torch.sigmoid(self.fc_out(F.relu(self.fc(z)))).view(-1, 1, 28, 28)
""",
        "no ReLU": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(self.fc(z)).view(-1, 1, 28, 28)
""",
        "flat (B, 784) output": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(F.relu(self.fc(z)))
""",
        "ReLU on the logits": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return F.relu(self.fc_out(F.relu(self.fc(z)))).view(-1, 1, 28, 28)
""",
        "channels last: (B, 28, 28, 1)": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(F.relu(self.fc(z))).view(-1, 28, 28, 1)
""",
        "logits clamped to [-20, 20]": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(F.relu(self.fc(z))).clamp(-20.0, 20.0).view(-1, 1, 28, 28)
""",
        "logit(sigmoid(.)) round trip": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        probabilities = torch.sigmoid(self.fc_out(F.relu(self.fc(z))))
        return torch.logit(probabilities).view(-1, 1, 28, 28)
""",
    },
    "VAE": {
        "forward decodes mu, no sampling": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(mu), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "forward returns probabilities": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return torch.sigmoid(self.decoder(reparameterize(mu, logvar))), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "forward returns z instead of mu": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), z, logvar

    def sample(self, n):
        with torch.no_grad():
            return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "sample returns logits": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return self.decoder(torch.randn(n, self.latent_dim))
""",
        "sample draws z from U(0, 1)": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return torch.sigmoid(self.decoder(torch.rand(n, self.latent_dim)))
""",
        "sample reuses one z for all images": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            return torch.sigmoid(self.decoder(torch.randn(1, self.latent_dim).expand(n, -1)))
""",
        "sample draws n / 2 z and uses each twice": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    def sample(self, n):
        with torch.no_grad():
            z = torch.randn((n + 1) // 2, self.latent_dim)
            return torch.sigmoid(self.decoder(torch.cat([z, z])[:n]))
""",
        "forward decodes mu in eval mode": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar) if self.training else mu
        return self.decoder(z), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "forward cuts the gradient to the logvar head": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar.detach())), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "forward detaches z": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar).detach()), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        return torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim)))
""",
        "sample decodes z = 0 in eval mode": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        z = torch.randn(n, self.latent_dim)
        return torch.sigmoid(self.decoder(z if self.training else torch.zeros_like(z)))
""",
        "sample squeezes, then unsqueezes dim 1": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        images = torch.sigmoid(self.decoder(torch.randn(n, self.latent_dim))).squeeze()
        return images.unsqueeze(1)
""",
    },
    "vae_loss": {
        "log(sigmoid(logits)): inf for confident logits": """
def vae_loss(logits, x, mu, logvar):
    p = torch.sigmoid(logits)
    recon = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum() / len(x)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "binary_cross_entropy on sigmoid(logits) (clamps the log at -100)": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / len(x)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "recon averaged over pixels": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "KL sign error": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = 0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "KL averaged over latent dimensions": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = -0.5 * torch.mean(1 + logvar - mu**2 - logvar.exp())
    return recon + kl, recon, kl
""",
        "summed over the batch instead of averaged": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp())
    return recon + kl, recon, kl
""",
        "KL without the 1": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = -0.5 * torch.sum(logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "per-example vectors instead of batch means": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
    return recon + kl, recon, kl
""",
        "KL on clamped logvar": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    logvar = logvar.clamp(-10.0, 10.0)  # "for stability"
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "log of the variance plus 1e-8": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    var = logvar.exp()
    kl = 0.5 * torch.sum(var + mu**2 - 1 - torch.log(var + 1e-8)) / len(x)
    return recon + kl, recon, kl
""",
        "KL from detached mu and logvar": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    mu, logvar = mu.detach(), logvar.detach()
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return recon + kl, recon, kl
""",
        "loss rebuilt from Python floats": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp()) / len(x)
    return torch.tensor(recon.item() + kl.item()), recon, kl
""",
    },
    "train_epoch": {
        "no zero_grad": """
def train_epoch(model, loader, optimizer):
    total, count = 0.0, 0
    for x, _ in loader:
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
""",
        "returns the last batch's loss": """
def train_epoch(model, loader, optimizer):
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
    return loss.item()
""",
        "mean of the batch means": """
def train_epoch(model, loader, optimizer):
    losses = []
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)
""",
        "zero_grad between backward and step": """
def train_epoch(model, loader, optimizer):
    total, count = 0.0, 0
    for x, _ in loader:
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
""",
        "one step at the end of the epoch": """
def train_epoch(model, loader, optimizer):
    optimizer.zero_grad()
    total, count = 0.0, 0
    for x, _ in loader:
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        total += loss.item() * len(x)
        count += len(x)
    optimizer.step()
    return total / count
""",
        "returns the total, not the mean": """
def train_epoch(model, loader, optimizer):
    total = 0.0
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return total
""",
        "counts the examples in a first pass": """
def train_epoch(model, loader, optimizer):
    count = sum(len(x) for x, _ in loader)
    total = 0.0
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return total / max(count, 1)
""",
    },
    "evaluate": {
        "no torch.no_grad()": """
def evaluate(model, loader):
    total, count = 0.0, 0
    for x, _ in loader:
        logits, mu, logvar = model(x)
        total += vae_loss(logits, x, mu, logvar)[0].item() * len(x)
        count += len(x)
    return total / count
""",
        "mean of the batch means": """
def evaluate(model, loader):
    losses = []
    with torch.no_grad():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            losses.append(vae_loss(logits, x, mu, logvar)[0].item())
    return sum(losses) / len(losses)
""",
        "backward on the test loss": """
def evaluate(model, loader):
    total, count = 0.0, 0
    for x, _ in loader:
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
""",
        "trains on the test set": """
def evaluate(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    total, count = 0.0, 0
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count
""",
        "returns the last batch's loss": """
def evaluate(model, loader):
    with torch.no_grad():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            loss = vae_loss(logits, x, mu, logvar)[0]
    return loss.item()
""",
        "reconstruction only": """
def evaluate(model, loader):
    total, count = 0.0, 0
    with torch.no_grad():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            total += vae_loss(logits, x, mu, logvar)[1].item() * len(x)
            count += len(x)
    return total / count
""",
        "counts the examples in a first pass": """
def evaluate(model, loader):
    count = sum(len(x) for x, _ in loader)
    total = 0.0
    with torch.no_grad():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            total += vae_loss(logits, x, mu, logvar)[0].item() * len(x)
    return total / max(count, 1)
""",
    },
}

RIGHT = {
    "reparameterize": {
        "sqrt(exp(logvar)) with torch.randn": """
def reparameterize(mu, logvar):
    std = torch.sqrt(torch.exp(logvar))
    eps = torch.randn(mu.shape, dtype=mu.dtype, device=mu.device)
    return mu + std * eps
""",
        "eps from torch.normal(0, 1), then addcmul": """
def reparameterize(mu, logvar):
    eps = torch.normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.addcmul(mu, logvar.mul(0.5).exp(), eps)
""",
        "Normal(mu, std).rsample()": """
def reparameterize(mu, logvar):
    return torch.distributions.Normal(mu, torch.exp(logvar / 2)).rsample()
""",
        "empty_like().normal_()": """
def reparameterize(mu, logvar):
    return mu + (0.5 * logvar).exp() * torch.empty_like(mu).normal_()
""",
        "std from exp(logvar).sqrt(), eps via normal_": """
def reparameterize(mu, logvar):
    eps = torch.empty_like(mu).normal_(0.0, 1.0)
    return eps.mul(logvar.exp().sqrt()).add(mu)
""",
    },
    "Encoder": {
        "nn.ReLU module and torch.flatten": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.relu = nn.ReLU()
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = self.relu(self.fc(torch.flatten(x, start_dim=1)))
        return self.fc_mu(h), self.fc_logvar(h)
""",
        "view(-1, 784) and clamp(min=0)": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(28 * 28, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = self.fc(x.view(-1, 784)).clamp(min=0)
        return self.fc_mu(h), self.fc_logvar(h)
""",
        "reshape with torch.relu": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        if x.dim() == 4:
            x = x.reshape(x.shape[0], -1)
        h = torch.relu(self.fc(x))
        mu = self.fc_mu(h)
        logvar = self.fc_logvar(h)
        return mu, logvar
""",
        "F.linear on the layers' weights": """
class Encoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(784, hidden_dim)
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        h = F.relu(F.linear(x.flatten(1), self.fc.weight, self.fc.bias))
        return F.linear(h, self.fc_mu.weight, self.fc_mu.bias), F.linear(h, self.fc_logvar.weight, self.fc_logvar.bias)
""",
    },
    "Decoder": {
        "nn.ReLU module and unflatten": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.act = nn.ReLU()
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(self.act(self.fc(z))).unflatten(1, (1, 28, 28))
""",
        "reshape(len(z), 1, 28, 28)": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 28 * 28)

    def forward(self, z):
        h = torch.relu(self.fc(z))
        logits = self.fc_out(h)
        return logits.reshape(len(z), 1, 28, 28)
""",
        "clamp(min=0) and view": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)

    def forward(self, z):
        return self.fc_out(self.fc(z).clamp(min=0)).view(z.size(0), 1, 28, 28)
""",
        "nn.Unflatten module": """
class Decoder(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.fc = nn.Linear(latent_dim, hidden_dim)
        self.fc_out = nn.Linear(hidden_dim, 784)
        self.to_image = nn.Unflatten(1, (1, 28, 28))

    def forward(self, z):
        return self.to_image(self.fc_out(torch.relu(self.fc(z))))
""",
    },
    "VAE": {
        "keyword call, device from the decoder's weight": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.encoder = Encoder(latent_dim=latent_dim, hidden_dim=hidden_dim)
        self.decoder = Decoder(latent_dim=latent_dim, hidden_dim=hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu=mu, logvar=logvar)
        logits = self.decoder(z)
        return logits, mu, logvar

    def sample(self, n):
        weight = self.decoder.fc.weight
        with torch.no_grad():
            z = torch.randn(n, weight.shape[1], device=weight.device)
            return self.decoder(z).sigmoid()
""",
        "prior as torch.distributions.Normal": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    @torch.no_grad()
    def sample(self, n):
        device = next(self.parameters()).device
        prior = torch.distributions.Normal(torch.zeros(self.latent_dim, device=device), 1.0)
        return torch.sigmoid(self.decoder(prior.sample((n,))))
""",
        "sample with gradients on, z from randn_like": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)
        self.latent_dim = latent_dim

    def forward(self, x):
        mu, logvar = self.encoder(x.view(len(x), 784))
        return self.decoder(reparameterize(mu, logvar)), mu, logvar

    def sample(self, n):
        template = self.decoder.fc.bias.new_empty(n, self.latent_dim)
        return torch.sigmoid(self.decoder(torch.randn_like(template)))
""",
        "sample decoded in chunks of 1024": """
class VAE(nn.Module):
    def __init__(self, latent_dim=20, hidden_dim=400):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(latent_dim, hidden_dim)
        self.decoder = Decoder(latent_dim, hidden_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar

    def sample(self, n):
        device = next(self.parameters()).device
        with torch.no_grad():
            parts = [self.decoder(torch.randn(len(chunk), self.latent_dim, device=device))
                     for chunk in torch.arange(n).split(1024)]
            return torch.cat(parts).sigmoid()
""",
    },
    "vae_loss": {
        "softplus formula": """
def vae_loss(logits, x, mu, logvar):
    recon = (F.softplus(logits) - x * logits).sum() / x.shape[0]
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / x.shape[0]
    return recon + kl, recon, kl
""",
        "logsigmoid on both sides": """
def vae_loss(logits, x, mu, logvar):
    log_p = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
    recon = -log_p.flatten(1).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu * mu - torch.exp(logvar))).sum(1).mean()
    return recon + kl, recon, kl
""",
        "per-example sums, then means": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=-1)
    loss = recon + kl
    return loss.mean(), recon.mean(), kl.mean()
""",
        "torch.distributions": """
def vae_loss(logits, x, mu, logvar):
    from torch.distributions import Bernoulli, Independent, Normal, kl_divergence
    likelihood = Independent(Bernoulli(logits=logits, validate_args=False), 3, validate_args=False)
    recon = -likelihood.log_prob(x).mean()
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(-1).mean()
    return recon + kl, recon, kl
""",
        "expm1 in the KL, sum over dims then mean": """
def vae_loss(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3)).mean()
    kl = 0.5 * (torch.expm1(logvar) - logvar + mu.square()).sum(dim=1).mean()
    return recon + kl, recon, kl
""",
    },
    "train_epoch": {
        "model.zero_grad, tensor accumulator": """
def train_epoch(model, loader, optimizer):
    model.train()
    total, count = torch.zeros(()), 0
    for images, _ in loader:
        model.zero_grad()
        logits, mu, logvar = model(images)
        loss, recon, kl = vae_loss(logits, images, mu, logvar)
        loss.backward()
        optimizer.step()
        total += loss.detach().cpu() * images.shape[0]
        count += images.shape[0]
    return float(total / count)
""",
        "zero_grad after the step, per-example sum": """
def train_epoch(model, loader, optimizer):
    device = next(model.parameters()).device
    optimizer.zero_grad(set_to_none=False)
    summed, n = 0.0, 0
    for batch in loader:
        x = batch[0].to(device)
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        summed += loss.item() * x.size(0)
        n += x.size(0)
    return summed / n
""",
        "lists of sizes and losses": """
def train_epoch(model, loader, optimizer):
    sizes, losses = [], []
    for x, _ in loader:
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        sizes.append(len(x))
        losses.append(loss.item())
    return sum(s * l for s, l in zip(sizes, losses)) / sum(sizes)
""",
        "next() on an iterator, until StopIteration": """
def train_epoch(model, loader, optimizer):
    batches, total, count = iter(loader), 0.0, 0
    while True:
        try:
            x, _ = next(batches)
        except StopIteration:
            break
        optimizer.zero_grad()
        logits, mu, logvar = model(x)
        loss = vae_loss(logits, x, mu, logvar)[0]
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(x), count + len(x)
    return total / count
""",
    },
    "evaluate": {
        "torch.inference_mode": """
def evaluate(model, loader):
    total, count = 0.0, 0
    with torch.inference_mode():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            total += vae_loss(logits, x, mu, logvar)[0].item() * len(x)
            count += len(x)
    return total / count
""",
        "decorator, eval mode restored": """
@torch.no_grad()
def evaluate(model, loader):
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, _ in loader:
        x = x.to(device)
        logits, mu, logvar = model(x)
        loss, recon, kl = vae_loss(logits, x, mu, logvar)
        total += (recon + kl).item() * x.shape[0]
        count += x.shape[0]
    model.train(was_training)
    return total / count
""",
        "tensor sums": """
def evaluate(model, loader):
    sums, counts = [], []
    with torch.no_grad():
        for x, _ in loader:
            logits, mu, logvar = model(x)
            sums.append(vae_loss(logits, x, mu, logvar)[0] * len(x))
            counts.append(len(x))
    return (torch.stack(sums).sum() / sum(counts)).item()
""",
        "enumerate, running mean": """
def evaluate(model, loader):
    mean, seen = 0.0, 0
    with torch.no_grad():
        for _, (x, _labels) in enumerate(loader):
            logits, mu, logvar = model(x)
            batch_loss = vae_loss(logits, x, mu, logvar)[0].item()
            seen += len(x)
            mean += (batch_loss - mean) * len(x) / seen
    return mean
""",
    },
}
