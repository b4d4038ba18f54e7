package kafka

import "net"

type netListener = net.Listener

func listen(network, addr string) (net.Listener, error) { return net.Listen(network, addr) }
