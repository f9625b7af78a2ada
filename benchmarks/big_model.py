"""A ~105 MB model for the load benchmark: one 5120x5120 float32 Linear."""

import torch


def make():
    torch.manual_seed(0)
    return torch.nn.Linear(5120, 5120).eval(), (torch.zeros(1, 5120),)
