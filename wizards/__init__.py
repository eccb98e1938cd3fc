# Transient models (wizards) of the connector go here.
