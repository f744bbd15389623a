"""What the benchmark mains (experiments/benchmark_*.py) share.

timing.py times calls and summarises the samples; workers.py runs each
entry of a benchmark in a process of its own and times them in turns;
torch_reference.py is the network, tracking step and train step in
PyTorch that experiments/benchmark_speed.py compares us with.
"""
