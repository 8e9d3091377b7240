"""The VQ-VAE bottleneck: each token of the code snaps to its nearest codebook vector.

van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation
Learning": the decoder receives the quantised code ``q`` while the gradient is
copied straight through to the encoder output ``h`` (sec. 3.2), and the loss adds
(their eq. 3, with beta = 0.25)

    ||sg[h] - q||^2  (codebook)  +  beta * ||h - sg[q]||^2  (commitment).

Options, and why each exists:

- ``ema`` (van den Oord et al. 2017, appendix A.1; Razavi et al. 2019, VQ-VAE-2):
  replace the codebook loss by exponential moving averages of each code's cluster
  size N_k and vector sum m_k, codebook = m_k / N_k. It is k-means run online, so
  it converges faster than gradient descent and ignores the optimiser's learning
  rate. N_k is Laplace-smoothed, as in the authors' Sonnet implementation, so a code
  that wins no tokens never divides by zero.
- ``kmeans_init`` (Zeghidour et al. 2021, SoundStream): k-means on the first
  training batch places every code where the data is; from a random start many
  codes are never nearest to anything and stay dead.
- ``dead_code_reset`` (Dhariwal et al. 2020, Jukebox, "random restarts";
  SoundStream): a code whose recent usage falls below ``dead_threshold`` is
  moved onto a random encoder output of the current batch. Usage is a separate,
  fast EMA of each code's token counts (``usage_decay``, about ten batches of
  memory): the codebook's own 0.99 EMA forgets too slowly, so codes left behind by
  an encoder that moves early in training stayed "alive" for hundreds of batches.
  On a 7x7-token conv VQ-VAE (Fashion-MNIST, 20k images, 2 epochs) the slow signal
  ended at 6 % usage and perplexity 17, the fast one at 100 % and 219. Codebook collapse, a
  few codes doing all the work, is the commonest way VQ training fails. The draw
  is k-means++'s (Arthur & Vassilvitskii 2007) rather than uniform, so revived
  codes go where the live ones serve the data worst.
- ``token_dim``: the code is ``code_dim // token_dim`` tokens quantised separately
  (a conv encoder's spatial grid), so K codebook vectors give K ** n_tokens codes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from aekit.errors import ConfigError, DataError
from aekit.nn.bottlenecks import Capabilities, Code, Term

#: Laplace smoothing of the EMA cluster sizes (Sonnet's ``epsilon``).
EPS = 1e-5
#: Lloyd iterations of the k-means initialisation; well past convergence on one batch.
KMEANS_ITERS = 10


def _nearest(x: torch.Tensor, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance to, and index of, the nearest code for each row of ``x`` (n, d).

    ``||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2`` as one matmul over ``codebook`` (K, d);
    no loop over tokens. Returns two tensors of shape (n,).
    """
    dist = x.pow(2).sum(1, keepdim=True) - 2 * x @ codebook.T + codebook.pow(2).sum(1)  # (n, K)
    return dist.min(1)


def _kmeanspp(x: torch.Tensor, k: int, d2: torch.Tensor | None = None) -> torch.Tensor:
    """``k`` rows of ``x`` (n, d) drawn as k-means++ seeds them (Arthur & Vassilvitskii 2007): (k, d).

    Each draw has probability proportional to the row's squared distance ``d2`` (n,)
    to the nearest centre so far, then becomes a centre; None means no centres yet
    (the first draw is uniform). Rows far from every centre are the data the
    centres serve worst, where uniform draws would mostly hit clusters already served.
    """
    picks = []
    for _ in range(k):
        # The floor keeps the weights valid when every row sits on a centre (uniform then).
        weights = torch.ones(len(x), device=x.device) if d2 is None else d2 + 1e-30
        i = torch.multinomial(weights, 1)[0]
        picks.append(i)
        dist = (x - x[i]).pow(2).sum(1)  # (n,)
        d2 = dist if d2 is None else torch.minimum(d2, dist)
    return x[torch.stack(picks)]


def _kmeans(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ seeding and Lloyd's iterations on ``x`` (n, d).

    Returns the centroids (k, d) and how many rows each wins (k,). With no more rows
    than codes every row becomes a code and the rest are noisy copies of random rows.
    """
    n, d = x.shape
    if n <= k:
        idx = torch.cat([torch.randperm(n, device=x.device), torch.randint(n, (k - n,), device=x.device)])
        scale = 1e-3 * x.std(correction=0).clamp(min=1e-6)
        centroids = x[idx] + scale * torch.randn(k, d, device=x.device)
    else:
        # k-means++ puts one centroid in each well-separated cluster; from uniform
        # seeds, two centroids often share a cluster that Lloyd never splits again.
        centroids = _kmeanspp(x, k)
        for _ in range(KMEANS_ITERS):
            assign = _nearest(x, centroids)[1]
            counts = torch.bincount(assign, minlength=k)
            sums = torch.zeros_like(centroids).index_add_(0, assign, x)
            won = counts > 0  # an empty cluster keeps its centroid
            centroids[won] = sums[won] / counts[won, None]
    return centroids, torch.bincount(_nearest(x, centroids)[1], minlength=k)


class VQBottleneck(nn.Module):
    """Vector quantisation with a straight-through gradient (van den Oord et al. 2017).

    The encoder output ``h`` (batch, code_dim) is read as ``n_tokens`` contiguous
    tokens of ``token_dim`` values, ``h.view(batch, n_tokens, token_dim)``; each is
    replaced by its nearest codebook vector. ``forward`` returns the quantised code
    ``h + sg(q - h)``: exactly the value of ``q``, with the gradient of ``h``.

    In training mode ``forward`` also learns: the k-means initialisation, EMA
    updates, dead-code resets and usage counts happen there, in float32 even under
    autocast. In eval mode it only quantises.

    Parameters
    ----------
    code_dim : int
        Width of the code, ``n_tokens * token_dim``.
    codebook_size : int, default 512
        Number of codes K (each token carries log2(K) bits).
    token_dim : int or None, default None
        Width of one token, a divisor of ``code_dim``; None quantises the whole code
        as one token.
    commitment : float, default 0.25
        beta, the commitment loss weight (van den Oord et al. 2017: results are
        robust from 0.1 to 2.0).
    ema : bool, default True
        Learn the codebook by exponential moving averages instead of the codebook
        loss; False makes it an ``nn.Parameter`` and adds a ``"codebook"`` term.
    decay : float, default 0.99
        EMA decay in (0, 1); the codebook averages over about 1 / (1 - decay) batches.
    kmeans_init : bool, default True
        Initialise the codebook by k-means on the first training batch.
    dead_code_reset : bool, default True
        Move codes whose EMA cluster size falls below ``dead_threshold`` onto random
        tokens of the current batch.
    usage_decay : float, default 0.9
        Decay of the EMA of tokens per batch that finds dead codes (``recent_usage``);
        a code that stops winning is declared dead after about 22 batches.
    dead_threshold : float, default 0.1
        A code counts as dead when its recent count of tokens per batch falls below
        this fraction of an evenly used code's share, ``batch * n_tokens /
        codebook_size``. Relative, so one setting suits any batch size and codebook:
        an absolute count of 1 would reset healthy codes over and over at batch 512
        with K = 512 and one token per sample.

    Attributes
    ----------
    codebook : Tensor, shape (codebook_size, token_dim)
        A buffer with ``ema=True``, a Parameter otherwise.
    cluster_size : Tensor, shape (codebook_size,)
        EMA of the tokens each code wins per training batch, N_k.
    recent_usage : Tensor, shape (codebook_size,)
        The same counts under the faster ``usage_decay``: the dead-code signal.
    embed_sum : Tensor, shape (codebook_size, token_dim)
        EMA of the sum of those tokens, m_k (``ema=True`` only).
    initialized : Tensor, scalar int64
        1 once the codebook holds k-means centroids (or from the start without
        ``kmeans_init``); saved with the model so a loaded model is not re-initialised.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> vq = VQBottleneck(code_dim=4, codebook_size=8, token_dim=2)
    >>> h = torch.randn(16, vq.in_features)
    >>> code = vq(h)  # training mode: k-means init, then an EMA update
    >>> tuple(code.z.shape), tuple(code.indices.shape), int(vq.initialized)
    ((16, 4), (16, 2), 1)
    >>> code = vq.eval()(h)  # eval mode only quantises
    >>> torch.equal(code.z, vq.lookup(code.indices))
    True
    >>> terms = vq.terms(code)
    >>> sorted(terms), terms["commitment"].weight, tuple(terms["commitment"].value.shape)
    (['commitment'], 0.25, (16,))
    """

    #: "codebook" is reported only with ``ema=False``.
    capabilities = Capabilities(has_indices=True, terms=("commitment", "codebook"))

    # Buffers registered in __init__ (codebook is a Parameter instead with ema=False; embed_sum only with ema).
    codebook: torch.Tensor
    embed_sum: torch.Tensor
    cluster_size: torch.Tensor
    recent_usage: torch.Tensor
    initialized: torch.Tensor
    usage: torch.Tensor

    def __init__(
        self,
        code_dim: int,
        codebook_size: int = 512,
        token_dim: int | None = None,
        commitment: float = 0.25,
        ema: bool = True,
        decay: float = 0.99,
        kmeans_init: bool = True,
        dead_code_reset: bool = True,
        dead_threshold: float = 0.1,
        usage_decay: float = 0.9,
    ):
        super().__init__()
        if isinstance(code_dim, bool) or not isinstance(code_dim, int) or code_dim < 1:
            raise ConfigError(f"code_dim={code_dim!r} must be a positive integer")
        if isinstance(codebook_size, bool) or not isinstance(codebook_size, int) or codebook_size < 2:
            raise ConfigError(f"codebook_size={codebook_size!r} must be an integer >= 2")
        if token_dim is not None and (
            isinstance(token_dim, bool) or not isinstance(token_dim, int) or token_dim < 1 or code_dim % token_dim
        ):
            raise ConfigError(f"token_dim={token_dim!r} must be None or a positive divisor of code_dim={code_dim}")
        if not (isinstance(commitment, (int, float)) and math.isfinite(commitment) and commitment >= 0):
            raise ConfigError(f"commitment={commitment!r} must be a finite number >= 0")
        if not (isinstance(decay, (int, float)) and 0 < decay < 1):
            raise ConfigError(f"decay={decay!r} must be in the open interval (0, 1)")
        if not (isinstance(usage_decay, (int, float)) and 0 < usage_decay < 1):
            raise ConfigError(f"usage_decay={usage_decay!r} must be in the open interval (0, 1)")
        if not (isinstance(dead_threshold, (int, float)) and math.isfinite(dead_threshold) and dead_threshold >= 0):
            raise ConfigError(f"dead_threshold={dead_threshold!r} must be a finite number >= 0 (0 never resets)")
        self.code_dim = code_dim
        self.in_features = code_dim
        self.codebook_size = codebook_size
        self.token_dim = code_dim if token_dim is None else token_dim
        self.n_tokens = code_dim // self.token_dim
        self.commitment = float(commitment)
        self.ema = bool(ema)
        self.decay = float(decay)
        self.kmeans_init = bool(kmeans_init)
        self.dead_code_reset = bool(dead_code_reset)
        self.dead_threshold = float(dead_threshold)
        self.usage_decay = float(usage_decay)

        codebook = torch.randn(codebook_size, self.token_dim)  # (codebook_size, token_dim)
        if self.ema:
            self.register_buffer("codebook", codebook)
            self.register_buffer("embed_sum", codebook.clone())  # m_k = N_k * codebook_k
        else:
            self.codebook = nn.Parameter(codebook)
        self.register_buffer("cluster_size", torch.ones(codebook_size))  # N_k
        # The dead-code signal; infinite until the first batch sets it to an even share.
        self.register_buffer("recent_usage", torch.full((codebook_size,), math.inf))
        self.register_buffer("initialized", torch.tensor(0 if self.kmeans_init else 1))
        # Per-epoch usage counts: not saved, so they move with .to() but not into model files.
        self.register_buffer("usage", torch.zeros(codebook_size, dtype=torch.int64), persistent=False)
        # (h, q, indices) of the last forward, for terms(): Code has no slot for h.
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def forward(self, h: torch.Tensor) -> Code:
        """Quantise ``h`` (batch, code_dim); ``code.indices`` is (batch, n_tokens) int64."""
        batch = h.shape[0]
        # Distances, EMA sums and k-means in bfloat16 would confuse nearby codes.
        with torch.autocast(h.device.type, enabled=False):
            h = h.float()  # (batch, code_dim)
            x = h.detach().reshape(-1, self.token_dim)  # (batch * n_tokens, token_dim)
            learn = self.training and len(x) > 0
            if learn and not self.initialized:
                self._init_codebook(x)
            flat = _nearest(x, self.codebook.detach())[1]  # (batch * n_tokens,)
            q = self.codebook[flat].reshape(batch, self.code_dim)  # (batch, code_dim)
            if learn:
                self._learn(x, flat)
        indices = flat.reshape(batch, self.n_tokens)
        self._last = (h, q, indices)
        # Straight-through (van den Oord et al. 2017, sec. 3.2): h + sg(q - h), written so
        # the value is exactly q (h - sg h is exactly 0) and no decoder gradient reaches q.
        z_q = q.detach() + (h - h.detach())
        return Code(z=z_q, mean=z_q, indices=indices)

    def terms(self, code: Code) -> dict[str, Term]:
        """The commitment term, and the codebook term without EMA, per sample.

        Each is a squared distance averaged over the sample's ``code_dim`` values:
        ``commitment`` is ``mean (h - sg q)^2`` with weight ``commitment`` (trains the
        encoder), ``codebook`` is ``mean (sg h - q)^2`` with weight 1 (trains the
        codebook when ``ema=False``). ``code`` must come from the last forward.
        """
        if self._last is None or self._last[2] is not code.indices:
            raise RuntimeError("VQBottleneck.terms needs the Code returned by its most recent forward")
        h, q, _ = self._last
        terms = {"commitment": Term(value=(h - q.detach()).pow(2).mean(1), weight=self.commitment)}
        if not self.ema:
            terms["codebook"] = Term(value=(h.detach() - q).pow(2).mean(1), weight=1.0)
        return terms

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """The quantised code (batch, code_dim) for ``indices`` (batch, n_tokens).

        Examples
        --------
        >>> vq = VQBottleneck(code_dim=4, codebook_size=3, token_dim=2)
        >>> with torch.no_grad():
        ...     _ = vq.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
        >>> vq.lookup(torch.tensor([[2, 0]]))
        tensor([[2., 2., 0., 0.]])
        """
        if indices.ndim != 2 or indices.shape[1] != self.n_tokens or indices.is_floating_point():
            raise DataError(
                f"indices must be integers of shape (batch, {self.n_tokens}), "
                f"got {indices.dtype} {tuple(indices.shape)}"
            )
        if indices.numel() and not (0 <= int(indices.min()) and int(indices.max()) < self.codebook_size):
            raise DataError(
                f"indices must lie in [0, {self.codebook_size}), got [{int(indices.min())}, {int(indices.max())}]"
            )
        return self.codebook[indices.long()].reshape(len(indices), self.code_dim)

    def epoch_stats(self) -> dict[str, float]:
        """Codebook usage since the last call, from training forwards; resets the counts.

        ``codebook_usage`` is the share of codes chosen at least once; ``perplexity``
        is exp(entropy) of the code frequencies, from 1 (one code) to codebook_size
        (uniform use). Both are 0.0 when no training forward ran.

        Examples
        --------
        >>> vq = VQBottleneck(code_dim=1, codebook_size=4, kmeans_init=False, dead_code_reset=False)
        >>> with torch.no_grad():
        ...     _ = vq.codebook.copy_(torch.tensor([[0.0], [10.0], [20.0], [30.0]]))
        >>> _ = vq(torch.tensor([[0.0], [0.1], [10.0], [10.1]]))
        >>> vq.epoch_stats()
        {'codebook_usage': 0.5, 'perplexity': 2.0}
        >>> vq.epoch_stats()
        {'codebook_usage': 0.0, 'perplexity': 0.0}
        """
        counts = self.usage.double()
        total = counts.sum()
        stats = {"codebook_usage": 0.0, "perplexity": 0.0}
        if total > 0:
            p = counts[counts > 0] / total
            stats = {
                "codebook_usage": float((counts > 0).double().mean()),
                "perplexity": float(torch.exp(-(p * p.log()).sum())),
            }
        self.usage.zero_()
        return stats

    # -- learning, in training forwards only ------------------------------------
    @torch.no_grad()
    def _init_codebook(self, x: torch.Tensor) -> None:
        centroids, counts = _kmeans(x, self.codebook_size)
        # A centroid that won no token counts as having won one, so m_k / N_k keeps it
        # in place (rather than at 0) until the data or a dead-code reset moves it.
        self._set_codes(torch.arange(self.codebook_size, device=x.device), centroids, counts.clamp(min=1).float())
        self.initialized.fill_(1)

    @torch.no_grad()
    def _learn(self, x: torch.Tensor, flat: torch.Tensor) -> None:
        counts = torch.bincount(flat, minlength=self.codebook_size)  # (codebook_size,)
        self.usage += counts
        self.cluster_size.mul_(self.decay).add_(counts.float(), alpha=1 - self.decay)
        even = len(flat) / self.codebook_size  # tokens per code per batch under even use
        self.recent_usage.clamp_(max=even).mul_(self.usage_decay).add_(counts.float(), alpha=1 - self.usage_decay)
        if self.ema:  # van den Oord et al. 2017, appendix A.1, eqs. 6-8
            sums = torch.zeros_like(self.embed_sum).index_add_(0, flat, x)  # (codebook_size, token_dim)
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            n = self.cluster_size.sum()
            smoothed = (self.cluster_size + EPS) / (n + self.codebook_size * EPS) * n
            self.codebook.copy_(self.embed_sum / smoothed[:, None])
        if self.dead_code_reset:
            limit = self.dead_threshold * even  # tokens per batch
            dead = self.recent_usage < limit  # (codebook_size,)
            if dead.any():
                # Revived codes are drawn from the batch as k-means++ would continue from
                # the live codes: where the codebook serves the data worst (Jukebox and
                # SoundStream draw uniformly, which often lands in a served cluster).
                live = self.codebook[~dead]
                d2 = _nearest(x, live)[0].clamp(min=0) if len(live) else None
                vectors = _kmeanspp(x, int(dead.sum()), d2)
                # N_k restarts at the threshold, so the EMA codebook follows the tokens a
                # revived code wins at once; its usage restarts at an even share, a grace
                # period of about 22 batches before it can be redrawn (Jukebox's restarts).
                sizes = torch.full((len(vectors),), limit, device=x.device)
                self._set_codes(torch.nonzero(dead).flatten(), vectors, sizes)
                self.recent_usage[dead] = even

    def _set_codes(self, idx: torch.Tensor, vectors: torch.Tensor, sizes: torch.Tensor) -> None:
        """Put ``vectors`` (n, token_dim) at codes ``idx`` (n,) with EMA stats that agree."""
        self.codebook.data[idx] = vectors
        self.cluster_size[idx] = sizes
        if self.ema:
            self.embed_sum[idx] = vectors * sizes[:, None]

    def __getstate__(self) -> dict[str, Any]:
        # The last forward's tensors carry an autograd graph, which deepcopy and pickle refuse.
        # torch leaves Module.__getstate__ unannotated (it returns a copy of __dict__).
        return {**super().__getstate__(), "_last": None}  # type: ignore[no-untyped-call]

    def extra_repr(self) -> str:
        return (
            f"code_dim={self.code_dim}, codebook_size={self.codebook_size}, token_dim={self.token_dim}, "
            f"commitment={self.commitment}, ema={self.ema}, decay={self.decay}, "
            f"kmeans_init={self.kmeans_init}, dead_code_reset={self.dead_code_reset}, "
            f"dead_threshold={self.dead_threshold}, usage_decay={self.usage_decay}"
        )
