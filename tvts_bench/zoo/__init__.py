"""Model zoo: the adapter interface every protocol uses, model cards, importers, safe loading.

Model families register themselves (``zoo/families.py``). This is the one list of the modules that
define a family; the registry imports them on its first lookup. Order matters only for listings (and
for detection ties, which ``FamilySpec.detect_order`` settles).
"""

FAMILY_MODULES = ("tvts", "videomae", "clip", "scratch", "user", "frozen", "svt", "vjepa", "videomae2", "hf")
