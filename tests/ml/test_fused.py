"""The fused CPU forward pass: same logits as the module, and the module wherever it cannot be fused."""

import pytest
import torch

from ccdstudio.ml.fused import FusedUNet, inference_forward
from ccdstudio.ml.unet import UNet, UNetConfig

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="torch built without oneDNN")


def _trained_like(config: UNetConfig) -> UNet:
    """A network with non-trivial batch-norm statistics and affine terms, so folding them is tested."""
    torch.manual_seed(5)
    net = UNet(config)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@needs_onednn
@pytest.mark.parametrize(("config", "shape"), [
    (UNetConfig(1, 4, depth=3, base=4), (2, 1, 64, 48)),
    (UNetConfig(3, 2, depth=2, base=6, activation="elu"), (1, 3, 37, 50)),  # padded to the pooling grid
    (UNetConfig(1, 3, depth=2, base=4, norm="none", dropout=0.2), (1, 1, 32, 32)),
])
def test_fused_pass_equals_the_module(config, shape):
    net = _trained_like(config)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected = net(x)
        got = FusedUNet(net)(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@needs_onednn
def test_inference_forward_fuses_batch_norm_networks_on_cpu_only():
    net = _trained_like(UNetConfig(1, 3, depth=2, base=4))
    assert isinstance(inference_forward(net, torch.device("cpu")), FusedUNet)
    assert inference_forward(net, torch.device("meta")) is net  # any other device keeps the module


@pytest.mark.parametrize("norm", ["group", "instance"])
def test_per_sample_normalisation_keeps_the_module(norm):
    net = UNet(UNetConfig(1, 3, depth=2, base=4, norm=norm)).eval()
    assert inference_forward(net, torch.device("cpu")) is net
    with pytest.raises(ValueError, match="cannot be folded"):
        FusedUNet(net)


def test_a_network_in_training_mode_keeps_the_module():
    net = UNet(UNetConfig(1, 3, depth=2, base=4)).train()
    assert inference_forward(net, torch.device("cpu")) is net
