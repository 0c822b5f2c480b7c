def write(bench):
    pass
