"""The compiled training engine: state, pure steps, the Python loop. [L4]"""
