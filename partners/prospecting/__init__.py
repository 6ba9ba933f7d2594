"""Finding prospects in the public NPI registry (NPPES): the specialty ↔ taxonomy map, the two sources (the
registry's JSON API and the monthly data file loaded into ``NppesProvider``), and importing chosen providers as
prospect practices."""
