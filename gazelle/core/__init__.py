"""Core vocabulary: Variable, StatelessScope, naming, shapes. [L0]"""
