"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention.
[L2]"""
from gazelle.layers.attention.attention import AdditiveAttention as AdditiveAttention
from gazelle.layers.attention.attention import Attention as Attention
from gazelle.layers.attention.grouped_query_attention import (
    GroupQueryAttention as GroupQueryAttention)
from gazelle.layers.attention.multi_head_attention import MultiHeadAttention as MultiHeadAttention
