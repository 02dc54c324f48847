"""Recurrent layers: cells, the RNN scan driver, LSTM/GRU/SimpleRNN, and sequence wrappers.
[L2: core, activations, initializers, regularizers, random]"""
from gazelle.layers.recurrent.cells import GRUCell as GRUCell
from gazelle.layers.recurrent.cells import LSTMCell as LSTMCell
from gazelle.layers.recurrent.cells import SimpleRNNCell as SimpleRNNCell
from gazelle.layers.recurrent.cells import StackedRNNCells as StackedRNNCells
from gazelle.layers.recurrent.conv_lstm import ConvLSTM1D as ConvLSTM1D
from gazelle.layers.recurrent.conv_lstm import ConvLSTM2D as ConvLSTM2D
from gazelle.layers.recurrent.conv_lstm import ConvLSTM3D as ConvLSTM3D
from gazelle.layers.recurrent.rnn import GRU as GRU
from gazelle.layers.recurrent.rnn import LSTM as LSTM
from gazelle.layers.recurrent.rnn import RNN as RNN
from gazelle.layers.recurrent.rnn import SimpleRNN as SimpleRNN
from gazelle.layers.recurrent.wrappers import Bidirectional as Bidirectional
from gazelle.layers.recurrent.wrappers import TimeDistributed as TimeDistributed
