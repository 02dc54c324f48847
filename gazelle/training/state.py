"""TrainState: every array a step reads or writes, as one pytree. [L4]

`lift` reads the current values out of the model's, optimizer's and metrics' Variables;
`write_back` assigns them. The trainer lifts before a chunk and writes back after it,
so Variables always hold live arrays when Python code (callbacks) looks at them.
"""
from typing import NamedTuple

from gazelle.training import distribute


class TrainState(NamedTuple):
    trainable: list
    non_trainable: list
    optimizer: list
    metrics: list


class StateLayout:
    """The Variable objects behind each TrainState field, fixed for one compile."""

    def __init__(self, model, optimizer, metrics):
        self.trainable = list(model.trainable_variables)
        self.non_trainable = list(model.non_trainable_variables)
        self.optimizer = list(optimizer.variables) if optimizer is not None else []
        self.metrics = [list(m.variables) for m in metrics]

    def lift(self):
        state = TrainState(
            [v.value for v in self.trainable],
            [v.value for v in self.non_trainable],
            [v.value for v in self.optimizer],
            [[v.value for v in vs] for vs in self.metrics])
        dist = distribute.current()
        return state if dist is None else distribute.place(state, dist)   # replicated

    def write_back(self, state):
        for field in ("trainable", "non_trainable", "optimizer"):
            for v, value in zip(getattr(self, field), getattr(state, field)):
                v._value = value
        for vs, values in zip(self.metrics, state.metrics):
            for v, value in zip(vs, values):
                v._value = value

    def write_back_metrics(self, metric_values):
        for vs, values in zip(self.metrics, metric_values):
            for v, value in zip(vs, values):
                v._value = value
