"""planwise: from screening and assessment to an explained treatment plan."""

__version__ = "0.1.0"
