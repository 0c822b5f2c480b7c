"""The Werkplaats domain: areas, themes, rooms, people and who may do what. Pure: no I/O."""
