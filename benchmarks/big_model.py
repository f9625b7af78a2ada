"""A ~105 MB model for the load benchmark: an embedding table of 25,600 x 1,024
float32 looked up by 4 token ids, so running it touches only 4 rows (16 KiB) of
the weights: what a memory-mapped load should cost in resident memory."""

import torch


class Lookup(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(25600, 1024)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table(ids)


def make():
    torch.manual_seed(0)
    return Lookup().eval(), (torch.tensor([1, 2, 3, 4], dtype=torch.int64),)
