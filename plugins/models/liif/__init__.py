"""MMagic's LIIF family: the ``LIIF`` model, ``LIIFEDSRNet``/``LIIFRDNNet`` generators and ``MLPRefiner``
(see docs/models.md, "LIIF"). Its data transforms (``RandomDownSampling``, ``GenerateCoordinateAndCell``)
are in ``mgx.plugins.data``."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .liif import LIIF
    from .liif_net import LIIFEDSRNet, LIIFRDNNet
    from .mlp_refiner import MLPRefiner

    return [LIIF, LIIFEDSRNet, LIIFRDNNet, MLPRefiner]
