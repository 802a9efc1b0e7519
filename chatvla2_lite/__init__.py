"""chatvla2-lite: a ChatVLA-2-style vision-language-action model you can run on a laptop CPU."""

__version__ = "0.1.0"
