"""The DMVAE gate: a mixture VAE whose categorical encoder routes like the cluster hierarchy."""
from __future__ import annotations

import numpy as np
import torch

from ..._validation import check_random_state
from ..dmvae import DMVAEModule
from ..distill import distil, soft_cross_entropy
from ..gaussian import kl_to_components, reparameterize
from ..likelihood import negative_log_likelihood
from ._dmvae_routing import (calibrate_logits, hard_routing, jittered_teacher_rows,
                             neighbor_spacing, pretrain_elbo, prune_weights)
from ._dmvae_components import ComponentsMixin
from .base import Gate, GateOutput

__all__ = ["DMVAEGate", "prune_weights", "hard_routing"]


class DMVAEGate(ComponentsMixin, Gate):
    """Route by ``q(c | z)`` of a DMVAE distilled from the connectivity clustering.

    The categorical encoder ``q(c | z)`` is a network of the gate input
    alone, so a fitted gate routes new points without the training set or a
    kNN index. :meth:`fit` teaches it the hierarchy's soft membership (soft
    cross-entropy, early stopping on held-out rows, at most
    ``distill_epochs`` passes) while the Gaussian encoder, decoder and the
    mixture prior learn to explain the data given that membership (each
    cluster's codes pulled to its own component, so connectivity clusters are
    compact in latent space). During joint training the membership stays as
    an anchor (``anchor_weight``) of the routing head, which alone trains
    there (the latent space, which only re-clustering reads, is fitted by
    :meth:`fit`). Routing is hard by default (``hard``): one expert per
    point, as the graph gate's pair contrasts route; with pair experts (the
    regressor's default) the estimator then refines the routing head to
    those contrasts (:meth:`refine`). With
    ``hard=False`` routing weights below ``min_weight`` are dropped instead.
    Without a membership (``init="none"``) the gate is the seed paper's DVMoE:
    ELBO pre-training only, then the full ELBO (Gumbel-softmax) in training.

    Parameters
    ----------
    in_features, n_experts : int
    latent_dim : int, default=8
    hidden_dims : tuple of int, default=(128, 128)
        Widths of each encoder (the decoder mirrors them).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
    temperature : float, default=1.0
        Gumbel-softmax temperature of the DVMoE ELBO (``init="none"``).
    distill_epochs : int, default=300
        Most distillation passes; early stopping usually ends sooner.
    learning_rate : float, default=3e-3
        Of the distillation.
    anchor_weight : float, default=1.0
        Weight of the cross-entropy to the hierarchy's membership kept in the
        gate's loss during joint training, so that the task loss refines the
        routing without dissolving it.
    min_weight : float, default=0.02
        Routing weights below this are set to zero (rows renormalised).
    validation_fraction : float, default=0.1
        Training rows held out of the distillation to judge (and stop) it.
    patience : int, default=20
        Distillation epochs without held-out improvement before stopping.
    patience_steps : int, default=400
        ... but at least this many optimizer steps: a small data set (one or
        two batches per epoch) otherwise stopped after ~40 steps with its
        boundaries unlearnt (5 x 60 pinwheel points, 4 seeds: new-point
        agreement 0.963 / 1 / 1 / 1 at 0, 1 / 1 / 1 / 1 at 400; spirals and
        digits test scores unchanged).
    jitter : float, default=3.0
        Distillation inputs are perturbed by Gaussian noise whose length is
        about this many nearest-neighbour spacings (median over the rows), so
        that the gate keeps each cluster's label in the gaps around its
        points, as the hierarchy's kNN routing of new points does, instead of
        placing the boundaries anywhere in the empty space between clusters.
        It cut the test MSE on 5 x 60 pinwheel points 17-fold; on digits the
        default-parameter accuracy was 0.974 with it and 0.961 without.
    init : {"hierarchy", "none"}, default="hierarchy"
        "none" ignores the membership: ELBO pre-training only, no anchor (DVMoE).
    hard : bool, default=True
        Route each point to one expert alone (one-hot weights), as the graph
        gate does: new points to the gate's most probable expert, training
        rows to the expert of their cluster (the membership's largest
        entry), so that the experts train as under the graph gate. Blending
        two experts where clusters meet trains each to fit the blend:
        interleaved spirals, seed 0, test MSE 0.0083 with the blend, 8.3e-5
        when those experts route new points top-1, 5.8e-8 with hard routing
        in training too (graph gate 3.6e-8). The routing head then learns
        from the membership anchor alone (a one-hot choice passes no
        gradient). Ignored with ``init="none"`` (DVMoE).
    train_routing : {"cluster", "membership", "gate"} or None, default=None
        Routing of the training rows while the experts train: "cluster"
        one-hot to their cluster's expert, "membership" the hierarchy's soft
        membership (the estimator keeps its ``top_k``), "gate" the gate's own
        routing (its pruned probabilities, as ``hard=False`` of 0.2.0; with
        ``hard`` its one-hot choice). None: "gate" unless
        ``hard``; with ``hard``, the estimator sets it to route as its graph
        gate would (``"cluster"`` with pair experts, ``"membership"``
        without), and "cluster" when the gate is used alone.
    teacher_rows : int, default=20000
        With a ``teacher`` given to :meth:`fit` (the estimator gives the
        hierarchy's routing of new points), the per-batch jitter is replaced
        by up to this many jittered copies of the rows (1 to 8 per row; noise
        1 to 2 times the jitter, and for one copy in four up to 8 times, so
        that the gate also learns the routing beyond the ends of clusters),
        drawn once and labelled by the teacher. 0 keeps the per-batch jitter.
    refine_contrasts : bool, default=True
        Once the experts are trained, the estimator has :meth:`refine` the
        routing head to the pair contrasts' routing (hard routing only).
    random_state : int, RandomState or None, default=None
        Seeds the initial weights (drawn in ``__init__``); None draws them
        from torch's global generator.
    joint : bool, default=True
        Train the gate with the experts after distillation. ``False`` freezes
        it once distilled: its routing of the training rows is computed once
        (``train_prior_``; with ``hard``, the membership's one-hot argmax)
        and each training step reuses it, so a step costs
        what a fixed router's does; new points are still routed by the
        network alone. Ignored with ``init="none"`` (no distillation).

    Attributes
    ----------
    distill_ : DistillResult or None
        Epochs run, held-out agreement with the hierarchy's assignment and
        cross-entropy at the end of :meth:`fit`.

    Shapes
    ------
    z (n, in_features) -> probs (n, n_experts)

    Examples
    --------
    >>> import numpy as np, torch
    >>> from graphmoe.nn.gates import DMVAEGate
    >>> Z = np.random.default_rng(0).normal(size=(200, 2))
    >>> membership = np.eye(2)[(Z[:, 0] > 0).astype(int)]
    >>> gate = DMVAEGate(2, 2, distill_epochs=30).fit(Z, membership=membership, random_state=0)
    >>> gate.distill_.agreement > 0.9
    True
    """

    trainable = True
    # gates restored from files written before these parameters existed: no pruning,
    # no jitter, as they were trained
    min_weight = 0.0
    jitter = 0.0
    joint = True
    patience_steps = 0
    hard = False
    random_state = None
    teacher_rows = 0
    refine_contrasts = False
    train_routing = None

    def __init__(self, in_features, n_experts, latent_dim=8, hidden_dims=(128, 128),
                 likelihood="gaussian", temperature=1.0, distill_epochs=300, learning_rate=3e-3,
                 anchor_weight=1.0, min_weight=0.02, validation_fraction=0.1, patience=20,
                 jitter=3.0, init="hierarchy", joint=True, patience_steps=400, hard=True,
                 teacher_rows=20000, refine_contrasts=True, random_state=None,
                 train_routing=None):
        super().__init__(n_experts)
        if init not in ("hierarchy", "none"):
            raise ValueError(f"init must be 'hierarchy' or 'none', got {init!r}.")
        if not 0.0 <= float(min_weight) < 1.0:
            raise ValueError(f"min_weight must lie in [0, 1), got {min_weight!r}.")
        # above 1/n_experts it could prune every weight of a uniform row: cap it there
        if train_routing not in (None, "cluster", "membership", "gate"):
            raise ValueError("train_routing must be None, 'cluster', 'membership' or 'gate', "
                             f"got {train_routing!r}.")
        min_weight = min(float(min_weight), 1.0 / max(1, self.n_experts))
        self.in_features, self.latent_dim = int(in_features), int(latent_dim)
        self.hidden_dims, self.likelihood = tuple(int(h) for h in hidden_dims), likelihood
        self.temperature, self.distill_epochs = float(temperature), int(distill_epochs)
        self.learning_rate, self.anchor_weight = float(learning_rate), float(anchor_weight)
        self.min_weight, self.validation_fraction = float(min_weight), float(validation_fraction)
        self.patience, self.init, self.jitter = int(patience), init, float(jitter)
        self.joint, self.patience_steps = bool(joint), int(patience_steps)
        self.hard, self.random_state = bool(hard), random_state
        self.teacher_rows, self.refine_contrasts = int(teacher_rows), bool(refine_contrasts)
        self.train_routing = train_routing
        self.distill_ = None
        if random_state is None:
            self.module = self._build_module()
        else:
            with torch.random.fork_rng():
                torch.manual_seed(int(check_random_state(random_state).randint(2**31 - 1)))
                self.module = self._build_module()

    def _build_module(self):
        return DMVAEModule(self.in_features, self.n_experts, self.latent_dim, self.hidden_dims,
                           self.likelihood)

    def reset_parameters(self):
        self.module.reset_parameters()

    def _generative_loss(self, z, c):
        """Reconstruction plus ``sum_c c_k KL(q(z|x) || p(z|k))``, for given responsibilities."""
        mu, logvar = self.module.encode(z)
        draw = reparameterize(mu, logvar) if self.training else mu
        nll = negative_log_likelihood(z, self.module.decode(draw), self.likelihood).mean()
        kl = kl_to_components(mu, logvar, self.module.prior_means, self.module.prior_logvars)
        return nll + (c * kl).sum(dim=1).mean()

    def forward(self, z, prior=None):
        """``prior`` (training only): the hierarchy's membership, kept as a distillation anchor."""
        if self.init == "none":  # DVMoE: the full ELBO, Gumbel-softmax and all
            out = self.module(z, temperature=self.temperature)
            probs = torch.softmax(out.logits, dim=-1)
            loss = self.module.elbo_loss(z, out)[0] if self.training else z.new_zeros(())
            return GateOutput(prune_weights(probs, self.min_weight), loss)
        if self.training and self.frozen and prior is not None:
            return GateOutput(prior, z.new_zeros(()))  # the training routing, set once in fit
        logits = self.module.categorical_logits(z)
        probs = torch.softmax(logits, dim=-1)
        by = self.training_routing if self.training and prior is not None else None
        if by == "cluster":  # training rows go where their cluster is
            routed = hard_routing(prior)
        elif by == "membership":
            routed = prior
        elif not self.hard:
            routed = prune_weights(probs, self.min_weight)
        else:
            routed = hard_routing(probs)
        if not self.training:  # routing needs the categorical encoder only
            return GateOutput(routed, z.new_zeros(()))
        if prior is None:  # no membership to anchor to: the generative terms hold the latent
            return GateOutput(routed, self._generative_loss(z, probs.detach()))
        # With a membership the generative terms are left to fit() (run again after every
        # re-clustering): they train the encoder, decoder and prior only, which routing never
        # reads, and cost twice the routing head per step (measured: 0.38x -> 0.55x the
        # dense softmax MoE's samples/s on digits).
        loss = z.new_zeros(())
        if self.anchor_weight:
            loss = self.anchor_weight * soft_cross_entropy(torch.log_softmax(logits, dim=-1),
                                                           prior)
        return GateOutput(routed, loss)

    def embedding(self, z):
        return self.module.encode(z)[0]

    def fit(self, Z, *, membership=None, groups=None, random_state=None, batch_size=256,
            teacher=None):
        """Distil the hierarchy's ``membership (n, K)`` of the rows ``Z (n, d)``.

        ``teacher``: optional callable ``Z_new (m, d) -> (m, K)``, the
        hierarchy's routing of new points (a kNN query into the clustering).
        Given, the jittered copies of the rows are drawn once, up to
        ``teacher_rows`` of them, and labelled by it rather than by the row
        they were drawn around, so the gate learns the boundaries that the
        hierarchy draws in the gaps between clusters, not a guess.
        """
        rng = check_random_state(random_state)
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32)
        if self.init == "none" or membership is None:
            pretrain_elbo(self.module, z, rng, batch_size, self.distill_epochs,
                          self.learning_rate, self.temperature)
            self.train_prior_ = None
            return self
        target = torch.as_tensor(np.asarray(membership), dtype=torch.float32)
        self.module.requires_grad_(True)  # a frozen gate distils again after a re-clustering
        sigma = self._jitter_scale(z, rng)
        x, x_target, n = z, target, len(z)
        if teacher is not None and sigma > 0 and self.teacher_rows > 0:
            x, x_target = jittered_teacher_rows(z, target, teacher, sigma, self.teacher_rows, rng)
            sigma = 0.0  # the labelled copies replace the per-batch jitter

        def log_q(rows):
            if self.module.training and sigma > 0:
                rows = rows + sigma * torch.randn_like(rows)
            return torch.log_softmax(self.module.categorical_logits(rows), dim=-1)

        def generative(idx):  # the latent space fits the original rows only
            idx = idx[idx < n]
            return self._generative_loss(z[idx], target[idx]) if len(idx) else z.new_zeros(())

        with torch.random.fork_rng():
            torch.manual_seed(int(rng.randint(2**31 - 1)))
            self.distill_ = distil(
                log_q,
                self.module, x, x_target, epochs=self.distill_epochs,
                learning_rate=self.learning_rate, batch_size=batch_size,
                extra_loss=generative,
                validation_fraction=self.validation_fraction, patience=self.patience,
                patience_steps=self.patience_steps, random_state=rng)
        self.init_priors(z, target)
        self.calibrate(z, target)
        self.train_prior_ = np.asarray(membership, dtype=np.float32)
        if not self.joint:
            self.module.requires_grad_(False)
            by = self.training_routing
            self.train_prior_ = (hard_routing(target).numpy() if by == "cluster"
                                 else self.train_prior_ if by == "membership"
                                 else self.route(z, batch_size=4096))
        return self

    def refine(self, Z, teacher, random_state=None, batch_size=256):
        """Distil the routing head again, to ``teacher``'s routing of ``Z`` and jittered copies.

        The estimator calls it once the experts are trained, with the graph
        gate's pair-contrast routing as ``teacher`` (``Z_new (m, d) -> (m,
        K)``): where two clusters meet, the hierarchy's membership is split
        and a point goes to the expert of the pair that fits its training
        neighbours better. Only the categorical encoder trains; it starts
        from the distilled weights. Hard routing only (a soft gate keeps its
        blend). Returns the :class:`DistillResult` (also ``refine_``).
        """
        if not (self.hard and self.refine_contrasts) or self.init == "none":
            return None
        rng = check_random_state(random_state)
        z = torch.as_tensor(np.asarray(Z), dtype=torch.float32)
        sigma = self._jitter_scale(z, rng)
        target = torch.as_tensor(np.asarray(teacher(z.numpy()), dtype=np.float32))
        x, x_target = jittered_teacher_rows(z, target, teacher, sigma, self.teacher_rows, rng)
        head = self.module.categorical
        device = next(head.parameters()).device  # the estimator refines after moving to it
        x, x_target = x.to(device), x_target.to(device)
        trains = [p.requires_grad for p in head.parameters()]
        head.requires_grad_(True)
        try:
            with torch.random.fork_rng():
                torch.manual_seed(int(rng.randint(2**31 - 1)))
                self.refine_ = distil(
                    lambda rows: torch.log_softmax(head(rows), dim=-1), head, x, x_target,
                    epochs=self.distill_epochs, learning_rate=self.learning_rate,
                    batch_size=batch_size, validation_fraction=self.validation_fraction,
                    patience=self.patience, patience_steps=self.patience_steps,
                    random_state=rng)
        finally:
            for p, flag in zip(head.parameters(), trains):
                p.requires_grad_(flag)
        return self.refine_

    def _jitter_scale(self, z, rng):
        """Per-coordinate noise scale: a noise vector ``jitter`` spacings long in any dimension."""
        return self.jitter * neighbor_spacing(z, rng) / np.sqrt(z.shape[1])

    @property
    def frozen(self):
        """Whether the distilled gate stays fixed while the experts train (``joint=False``)."""
        return not self.joint and self.init != "none"

    @property
    def training_routing(self):
        """``train_routing`` resolved: "cluster", "membership" or "gate"."""
        return self.train_routing or ("cluster" if self.hard else "gate")

    @property
    def routes_training_by_prior(self):
        """Training rows go where the clustering puts them (frozen or hard routing).

        Their experts' loads are then the clusters' sizes, which re-seeding an
        expert cannot change: a collapse is only logged, as for a fixed router.
        """
        return self.init != "none" and (self.frozen or self.training_routing != "gate")

    @torch.no_grad()
    def route(self, z, batch_size=4096):
        """Routing probabilities ``(n, n_experts)`` of ``z`` as a float32 array (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            z = torch.as_tensor(np.asarray(z), dtype=torch.float32)
            return torch.cat([self(part).probs for part in z.split(batch_size)]).numpy()
        finally:
            self.train(was_training)

    def calibrate(self, z, membership):
        """Scale the categorical logits to the membership's sharpness (:func:`calibrate_logits`)."""
        return calibrate_logits(self.module.categorical_logits, self._logit_layer(), z, membership)

    @torch.no_grad()
    def init_priors(self, z, membership):
        """Set component ``c``'s prior to the membership-weighted moments of the latent means."""
        mu = self.module.encode(z)[0]
        w = membership / membership.sum(dim=0, keepdim=True).clamp_min(1e-8)  # (n, K)
        mean = w.T @ mu
        var = w.T @ mu.pow(2) - mean.pow(2)
        used = membership.sum(dim=0) > 1e-6  # an empty cluster keeps its prior
        self.module.prior_means.data[used] = mean[used]
        self.module.prior_logvars.data[used] = var[used].clamp_min(1e-4).log()

    def __repr__(self):
        return (f"{type(self).__name__}({self.in_features}, n_experts={self.n_experts}, "
                f"latent_dim={self.latent_dim})")
