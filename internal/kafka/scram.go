package kafka

import (
	"crypto/sha256"
	"crypto/sha512"

	"github.com/xdg-go/scram"
)

var (
	scramSHA256 scram.HashGeneratorFcn = sha256.New
	scramSHA512 scram.HashGeneratorFcn = sha512.New
)

// scramClient is sarama's SCRAMClient on xdg-go/scram, the SCRAM
// implementation sarama's own examples use.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authzID string) error {
	cl, err := c.hash.NewClient(user, pass, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }
