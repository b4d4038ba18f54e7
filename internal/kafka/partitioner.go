package kafka

import (
	"math/rand/v2"

	"github.com/IBM/sarama"
)

// murmur2 is Kafka's Utils.murmur2, so keyed records land on the same
// partition as Kafka Connect's Java producer would put them.
func murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	n := length / 4
	for i := 0; i < n; i++ {
		i4 := i * 4
		k := uint32(data[i4]) | uint32(data[i4+1])<<8 | uint32(data[i4+2])<<16 | uint32(data[i4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch length % 4 {
	case 3:
		h ^= uint32(data[(length&^3)+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[(length&^3)+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[length&^3])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// PartitionForKey is Kafka's default partitioner for keyed records:
// toPositive(murmur2(key)) % numPartitions.
func PartitionForKey(key []byte, numPartitions int32) int32 {
	return (murmur2(key) & 0x7fffffff) % numPartitions
}

// javaPartitioner routes keyed messages like Java's producer and honours an
// explicit partition carried in the message metadata.
type javaPartitioner struct{}

func newJavaPartitioner(string) sarama.Partitioner { return javaPartitioner{} }

func (javaPartitioner) Partition(msg *sarama.ProducerMessage, n int32) (int32, error) {
	if md, ok := msg.Metadata.(*Pending); ok && md.Partition >= 0 {
		if md.Partition >= n {
			return 0, sarama.ErrInvalidPartition
		}
		return md.Partition, nil
	}
	if msg.Key == nil {
		return rand.Int32N(n), nil
	}
	kb, err := msg.Key.Encode()
	if err != nil {
		return 0, err
	}
	if kb == nil {
		return rand.Int32N(n), nil
	}
	return PartitionForKey(kb, n), nil
}

func (javaPartitioner) RequiresConsistency() bool { return true }
