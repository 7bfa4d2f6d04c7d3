def run(s):
    raise NotImplementedError
