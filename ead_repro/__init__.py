__version__ = "0.1.0"

from .attack import EAD, CW, COV, AttackResult  # the attacks and their result, at the top level
