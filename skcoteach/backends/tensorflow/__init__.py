"""The TensorFlow training program of skcoteach (see :mod:`skcoteach.backends`).

Importing this package imports nothing; its modules import TensorFlow.
"""
