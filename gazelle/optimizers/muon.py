"""Muon: momentum orthogonalized by Newton-Schulz iterations for 2-D weights, AdamW for
the rest. [L1: gazelle.optimizers]"""
import re

from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Muon(Optimizer):
    """Optimizer that implements the Muon algorithm.

    Weights of rank 2 (not excluded) step along their Nesterov momentum made
    (approximately) orthogonal by `ns_steps` Newton-Schulz iterations, scaled by
    `rms_rate * sqrt(max(rows, cols))`; every other weight (biases, convolution kernels,
    embeddings, `exclude_layers` matches) uses AdamW with `adam_lr_ratio * learning_rate`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        adam_beta_1: The exponential decay rate for the 1st moment estimates of the
            AdamW part. Defaults to `0.9`.
        adam_beta_2: The exponential decay rate for the 2nd moment estimates of the
            AdamW part. Defaults to `0.999`.
        adam_weight_decay: Float, the weight decay of the weights updated with AdamW.
            Defaults to `0.004`.
        epsilon: A small constant for numerical stability (AdamW part). Defaults to
            `1e-7`.
        weight_decay: Float, the weight decay of the weights updated with Muon.
            Defaults to `0.004`.
        exclude_layers: List of strings (regular expressions); weights whose path
            matches one use AdamW instead. Defaults to `None`.
        exclude_embeddings: Boolean. If `True`, weights whose path contains
            "embedding" use AdamW. Defaults to `True`.
        muon_a, muon_b, muon_c: the coefficients of the Newton-Schulz iteration.
            Defaults to `3.4445`, `-4.775`, `2.0315`.
        adam_lr_ratio: Float, the ratio of the AdamW learning rate to the Muon one.
            Defaults to `1`.
        momentum: Float, momentum of the Muon part. Defaults to `0.95`.
        ns_steps: Integer, number of Newton-Schulz iterations. Defaults to `5`.
        nesterov: Boolean, whether to use Nesterov-style momentum. Defaults to `True`.
        rms_rate: Float or `None`; scales Muon's steps to an RMS comparable to AdamW's.
            `None` turns the scaling off. Defaults to `0.2`.
        **kwargs: the common optimizer arguments (`clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Muon(learning_rate=0.02, exclude_layers=["head"])
    ```
    """

    _config_keys = ("adam_beta_1", "adam_beta_2", "epsilon", "exclude_layers", "muon_a",
                    "muon_b", "muon_c", "adam_lr_ratio", "momentum", "ns_steps", "nesterov",
                    "exclude_embeddings", "adam_weight_decay", "rms_rate")

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004,
                 exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.775,
                 muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
                 rms_rate=0.2, **kwargs):
        # Muon applies its two decay rates itself (inside its rule), so the shared
        # decoupled decay of the base class stays off.
        super().__init__(learning_rate, weight_decay=None, **kwargs)
        self._muon_weight_decay = weight_decay
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", variable.name)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def _rule(self):
        use_adamw = [self._should_use_adamw(v) for v in self._trainable_variables]
        decay = [(self.adam_weight_decay if adamw else self._muon_weight_decay)
                 if self._decays(v) else None
                 for v, adamw in zip(self._trainable_variables, use_adamw)]
        return extra_transforms.keras_muon(
            use_adamw, decay, self.adam_beta_1, self.adam_beta_2, self.epsilon, self.muon_a,
            self.muon_b, self.muon_c, self.adam_lr_ratio, self.momentum, self.ns_steps,
            self.nesterov, self.rms_rate)

    def get_config(self):
        config = super().get_config()
        config["weight_decay"] = self._muon_weight_decay
        return config
