"""The bottom floor: Kubernetes semantics with no opinion about this course.

Label selectors, field paths, resource quantities and quota arithmetic, DNS name
candidates, apply order and the wording helpers every layer shares. Everything in the
package may import from here, and nothing here imports anything else of ours (the layer
contract in tools/layer_contract.py says so, and tests/project/test_layers.py checks it).
"""
