# SPDX-License-Identifier: ISC
"""The EICAR anti-virus test file, assembled at run time.

No literal in this file holds the whole test string, so a scanner of the
repository does not flag it.  eicar() returns the 68 bytes.
"""

_HEAD = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
_PIECES = ("EIC", "AR-STAND", "ARD-ANTIV", "IRUS-TE", "ST-FILE!", "$H+H*")


def eicar():
    """The 68-byte EICAR test file as bytes."""
    data = (_HEAD + "".join(_PIECES)).encode("ascii")
    assert len(data) == 68
    return data


def eicar_middle(length=30):
    """A part of eicar() from its middle, length bytes, for body signatures."""
    data = eicar()
    start = (len(data) - length) // 2
    return data[start:start + length]
