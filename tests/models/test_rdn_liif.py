"""RDN and LIIF: MMagic 1.2.0's parameter counts and state-dict keys, LIIF's local-ensemble query against a
float64 re-computation of its definition, arbitrary-scale inference."""
import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

RDN = dict(type="RDNNet", in_channels=3, out_channels=3, mid_channels=64, num_blocks=16)
IMNET = dict(type="MLPRefiner", in_dim=64, out_dim=3, hidden_list=[256, 256, 256, 256])

# Summed by hand from MMagic's rdn_net.py / liif_net.py / mlp_refiner.py / edsr_net.py for the published configs.
# RDN: sfe1 1792 + sfe2 36928 + 16 RDBs × (Σ_i (64+64i)·64·9+64 over 8 dense layers = 1327616, + lff 36928)
# + gff (65600 + 36928) + upsampling + output conv 1731.
PUBLISHED = {
    "rdn_x2c64b16": (dict(RDN, upscale_factor=2), 22123395),
    "rdn_x3c64b16": (dict(RDN, upscale_factor=3), 22308035),
    "rdn_x4c64b16": (dict(RDN, upscale_factor=4), 22271107),
    # EDSR encoder without its upsampler (1792 + 16·2·36928 + 36928) + MLP 580→256→256→256→256→3 (346883)
    "liif-edsr-norm_c64b16": (dict(type="LIIFEDSRNet", imnet=IMNET, eval_bsize=30000, encoder=dict(
        type="EDSRNet", in_channels=3, out_channels=3, mid_channels=64, num_blocks=16)), 1567299),
    "liif-rdn-norm_c64b16": (dict(type="LIIFRDNNet", imnet=IMNET, eval_bsize=30000, encoder=dict(
        RDN, upscale_factor=4, num_layers=8, channel_growth=64)), 22320835),
}
TINY_RDN = dict(type="RDNNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=2, num_layers=2,
                channel_growth=2)
TINY_LIIF = dict(type="LIIFRDNNet", encoder=dict(TINY_RDN, upscale_factor=4),
                 imnet=dict(type="MLPRefiner", in_dim=1, out_dim=3, hidden_list=[5]))


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_equals_mmagics(name):
    cfg, count = PUBLISHED[name]
    with torch.device("meta"):
        net = build(cfg, "model")
    assert sum(p.numel() for p in net.parameters()) == count


def test_state_dict_keys_are_mmagics():
    rdn = {k: tuple(v.shape) for k, v in build(dict(TINY_RDN, upscale_factor=4), "model").state_dict().items()}
    assert rdn["rdbs.1.layers.1.conv.weight"] == (2, 6, 3, 3) and rdn["rdbs.0.lff.weight"] == (4, 8, 1, 1)
    assert rdn["gff.0.weight"] == (4, 8, 1, 1) and rdn["gff.1.weight"] == (4, 4, 3, 3)
    assert rdn["upscale.0.weight"] == rdn["upscale.2.weight"] == (16, 4, 3, 3) and rdn["output.weight"] == (3, 4, 3, 3)
    assert len(rdn) == 2 * (2 + 2 * (2 + 1) + 2 + 2 + 1)  # weight+bias of sfe1/2, dense+lff, gff, upscale, output
    assert build(dict(TINY_RDN, upscale_factor=3), "model").state_dict()["upscale.0.weight"].shape == (36, 4, 3, 3)
    liif = build(TINY_LIIF, "model").state_dict()
    # MMagic moves the encoder's layers onto the generator and drops its upsampling
    assert {k.split(".")[0] for k in liif} == {"sfe1", "sfe2", "rdbs", "gff", "imnet"}
    assert liif["imnet.layers.0.weight"].shape == (5, 4 * 9 + 4) and liif["imnet.layers.2.weight"].shape == (3, 5)
    edsr = build(dict(type="LIIFEDSRNet", encoder=dict(type="EDSRNet", in_channels=3, out_channels=3,
                                                       mid_channels=4, num_blocks=1),
                      imnet=dict(type="MLPRefiner", in_dim=1, out_dim=3, hidden_list=[])), "model").state_dict()
    assert {k.split(".")[0] for k in edsr} == {"conv_first", "body", "conv_after_body", "imnet"}
    assert "body.0.conv1.weight" in edsr


def _query_reference(feature, coord, cell, imnet):
    """LIIF's local ensemble by its definition, one query at a time, in float64 (feat_unfold, cell_decode on)."""
    feature = feature.double()
    _, channels, height, width = feature.shape
    unfolded = torch.nn.functional.unfold(feature, 3, padding=1).view(1, channels * 9, height, width)[0].numpy()
    out = np.zeros((coord.shape[1], 3))
    for q, (y, x) in enumerate(coord[0].double().numpy()):
        preds, areas = [], []
        for dy in (-1, 1):
            for dx in (-1, 1):  # the latent code whose cell holds the query nudged by half a cell (+1e-6)
                sy = min(max(y + dy / height + 1e-6, -1 + 1e-6), 1 - 1e-6)
                sx = min(max(x + dx / width + 1e-6, -1 + 1e-6), 1 - 1e-6)
                row = min(int((sy + 1) / 2 * height), height - 1)
                col = min(int((sx + 1) / 2 * width), width - 1)
                centre = (-1 + (2 * row + 1) / height, -1 + (2 * col + 1) / width)
                rel = ((y - centre[0]) * height, (x - centre[1]) * width)
                rel_cell = cell[0, q].double().numpy() * (height, width)
                inp = torch.from_numpy(np.concatenate([unfolded[:, row, col], rel, rel_cell]))
                preds.append(imnet(inp[None])[0].detach().numpy())
                areas.append(abs(rel[0] * rel[1]) + 1e-9)
        weights = np.array(areas[::-1]) / sum(areas)  # each code weighted by the area diagonally opposite
        out[q] = sum(w * p for w, p in zip(weights, preds))
    return out


def test_local_ensemble_query_matches_its_definition():
    torch.manual_seed(0)
    net = build(TINY_LIIF, "model")
    feature = torch.randn(1, 4, 5, 7)
    coord = torch.rand(1, 40, 2) * 2 - 1
    cell = torch.full((1, 40, 2), 2 / 13.0)
    expected = _query_reference(feature, coord, cell, net.imnet.double())
    net.float()
    got = net.query_rgb(feature, coord, cell)[0].detach().double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_liif_upscales_by_any_factor_and_batches_queries():
    prep = dict(type="DataPreprocessor", mean=[127.5] * 3, std=[127.5] * 3)
    model = build(dict(type="LIIF", generator=dict(TINY_LIIF, eval_bsize=50), pixel_loss=dict(type="L1Loss"),
                       data_preprocessor=prep), "model")
    images = torch.randint(0, 256, (2, 3, 6, 8), dtype=torch.uint8)
    for scale in (1, 2.5, 4, 7):
        out = model(images, scale=scale)
        assert out.shape == (2, 3, round(6 * scale), round(8 * scale)) and 0 <= out.min() <= out.max() <= 255
    # queries in chunks of eval_bsize give the image one pass over all queries gives
    unbatched = build(dict(type="LIIF", generator=TINY_LIIF, pixel_loss=dict(type="L1Loss"), data_preprocessor=prep),
                      "model")
    unbatched.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(images, scale=3), unbatched(images, scale=3))


def test_liif_errors_name_what_to_change():
    with pytest.raises(ConfigError, match="EDSRNet"):
        build(dict(type="LIIFEDSRNet", encoder=dict(TINY_RDN, upscale_factor=2), imnet=IMNET), "model")
    with pytest.raises(ConfigError, match="eval_bsize"):
        build(dict(TINY_LIIF, eval_bsize=0), "model")
    model = build(dict(type="LIIF", generator=TINY_LIIF, pixel_loss=dict(type="L1Loss")), "model")
    with pytest.raises(MgxError, match="GenerateCoordinateAndCell"):
        model.val_step({"inputs": torch.zeros(1, 3, 4, 4, dtype=torch.uint8)})
