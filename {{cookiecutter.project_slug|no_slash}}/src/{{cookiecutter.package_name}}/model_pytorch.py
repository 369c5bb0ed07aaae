"""The model: a small multi-layer perceptron in PyTorch, saved as a safetensors state dict.

The input standardisation lives in the state dict as buffers, so the weights file is the whole
model, and the architecture is read back from the tensor shapes: loading needs no config, no pickle.
"""

from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig
from safetensors.torch import load_file, save_file
from torch import nn

FRAMEWORK = "pytorch"


class Model(nn.Module):
    """Standardise, then Linear+ReLU(+Dropout) blocks, then one logit."""

    def __init__(self, n_features: int, hidden_sizes: list[int], dropout: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features, dtype=torch.float32))
        self.register_buffer("scale", torch.ones(n_features, dtype=torch.float32))
        sizes = [n_features, *hidden_sizes]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.out = nn.Linear(sizes[-1], 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = (features - self.mean) / self.scale
        for layer in self.hidden:
            x = self.dropout(torch.relu(layer(x)))
        return self.out(x).squeeze(-1)

    @torch.no_grad()
    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each row of `features`."""
        self.eval()
        logits = self(torch.from_numpy(np.array(features, dtype=np.float32)))
        return torch.sigmoid(logits).double().numpy()


def fit(features: np.ndarray, labels: np.ndarray, cfg: DictConfig) -> Model:
    """Train on the CPU with a fixed seed and one thread, so a re-run gives identical weights."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(cfg.seed)
    try:
        x = torch.from_numpy(np.array(features, dtype=np.float32))
        y = torch.from_numpy(np.array(labels, dtype=np.float32))
        model = Model(x.shape[1], list(cfg.model.hidden_sizes), cfg.model.dropout)
        model.mean.copy_(x.mean(dim=0))
        model.scale.copy_(x.std(dim=0, unbiased=False).clamp_min(1e-12))
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay
        )
        loss_fn = nn.BCEWithLogitsLoss()
        order = torch.Generator().manual_seed(cfg.seed)
        model.train()
        for _ in range(cfg.train.epochs):
            for batch in torch.randperm(len(x), generator=order).split(cfg.train.batch_size):
                optimiser.zero_grad()
                loss_fn(model(x[batch]), y[batch]).backward()
                optimiser.step()
        return model.eval()
    finally:
        torch.set_num_threads(threads)


def save(model: Model, path: Path, metadata: dict[str, str]) -> None:
    """Write the state dict as safetensors; keep `metadata` to one key (see Signature.metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(path), metadata=metadata)


def load(path: Path) -> Model:
    """Rebuild the network from the tensor shapes in a file written by `save`."""
    state = load_file(str(path))
    n_hidden = sum(1 for name in state if name.startswith("hidden.") and name.endswith(".weight"))
    hidden_sizes = [state[f"hidden.{i}.weight"].shape[0] for i in range(n_hidden)]
    model = Model(state["mean"].shape[0], hidden_sizes)
    model.load_state_dict(state)
    return model.eval()
