"""The U-Net: shapes for every option, any input size, its receptive radius, and clear errors."""

import pytest
import torch

from ccdstudio.errors import CcdstudioError
from ccdstudio.ml.unet import UNet, UNetConfig, build_unet


@pytest.mark.parametrize("norm", ["batch", "group", "instance", "none"])
@pytest.mark.parametrize("activation", ["relu", "elu"])
def test_output_shape_for_every_option(norm, activation):
    net = UNet(UNetConfig(in_channels=3, n_classes=5, depth=2, base=4, norm=norm, activation=activation, dropout=0.1))
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 48)).shape == (2, 5, 32, 48)


@pytest.mark.parametrize("shape", [(1, 1), (17, 33), (40, 7)])
def test_sizes_that_are_not_multiples(shape):
    net = build_unet({"in_channels": 1, "n_classes": 2, "depth": 3, "base": 4}).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 1, *shape)).shape == (1, 2, *shape)


@pytest.mark.parametrize("depth", [1, 2])
def test_receptive_radius_is_measured_exactly(depth):
    torch.manual_seed(0)
    config = UNetConfig(1, 2, depth=depth, base=4, norm="none")
    net = UNet(config).eval()
    n = 2 * config.receptive_radius + 4 * config.multiple
    x = torch.randn(1, 1, n, n)
    reach = 0
    with torch.no_grad():
        base = net(x)
        for c in range(n // 2 - config.multiple, n // 2 + config.multiple):  # every offset on the pooling grid
            bumped = x.clone()
            bumped[0, 0, c, c] += 100
            changed = (net(bumped) - base).abs().amax(dim=(0, 1)) > 0
            ys, xs = torch.nonzero(changed, as_tuple=True)
            reach = max(reach, int((ys - c).abs().max()), int((xs - c).abs().max()))
    assert reach == config.receptive_radius


def test_config_round_trip_and_errors():
    config = UNetConfig(2, 3, depth=3, base=16, norm="group", activation="elu", dropout=0.2)
    assert UNetConfig.from_dict(config.to_dict()) == config
    with pytest.raises(CcdstudioError, match="normalisation"):
        UNetConfig(norm="layer")
    with pytest.raises(CcdstudioError, match="unknown U-Net settings"):
        UNetConfig.from_dict({"depht": 3})
    with pytest.raises(CcdstudioError):
        UNetConfig(n_classes=1)
