"""MMagic's RDN family: ``RDNNet``, trained by ``BaseEditModel`` (see docs/models.md, "RDN")."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .rdn_net import RDNNet

    return [RDNNet]
