"""Hierarchical product classification: training versions, classifying products, the staff review queue.

Reads (the active model, live-tree predictions) in `selectors`; writes in `services`; training in `training`.
"""
