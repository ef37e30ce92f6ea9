package events

// DecodeFast exposes decodeFast to the differential tests.
var DecodeFast = decodeFast

// DecodeReference decodes data as Decode does with encoding/json alone: the
// behaviour Decode must keep.
func DecodeReference(data []byte) (Event, error) {
	e, err := unmarshal(data)
	if err != nil {
		return Event{}, err
	}
	return validate(e)
}
