"""Callbacks: objects whose hooks `fit`, `evaluate` and `predict` call. [side: stdlib, numpy, gazelle.utils]"""
from gazelle.callbacks.backup_and_restore import BackupAndRestore as BackupAndRestore
from gazelle.callbacks.callback import Callback as Callback
from gazelle.callbacks.callback import CallbackList as CallbackList
from gazelle.callbacks.csv_logger import CSVLogger as CSVLogger
from gazelle.callbacks.early_stopping import EarlyStopping as EarlyStopping
from gazelle.callbacks.history import History as History
from gazelle.callbacks.lambda_callback import LambdaCallback as LambdaCallback
from gazelle.callbacks.learning_rate import LearningRateScheduler as LearningRateScheduler
from gazelle.callbacks.learning_rate import ReduceLROnPlateau as ReduceLROnPlateau
from gazelle.callbacks.model_checkpoint import ModelCheckpoint as ModelCheckpoint
from gazelle.callbacks.progbar_logger import ProgbarLogger as ProgbarLogger
from gazelle.callbacks.remote_monitor import RemoteMonitor as RemoteMonitor
from gazelle.callbacks.swap_ema_weights import SwapEMAWeights as SwapEMAWeights
from gazelle.callbacks.tensorboard import TensorBoard as TensorBoard
from gazelle.callbacks.terminate_on_nan import TerminateOnNaN as TerminateOnNaN

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
    "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
]
