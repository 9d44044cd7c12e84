// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/**
 * @title CustodyNodeSet
 * @notice The custody nodes that hold the shares of every file key, and how many of them
 * (M of N) give a key back: numbered sets (epochs), the current one for new contributions.
 * The deployment's first set is given to the constructor; later sets only by the timelock
 * (its owner), that is by a vote. Every set stays readable: a contribution stays with the
 * set its key was split for, whose nodes keep serving its shares.
 * @dev A node's share index is its position in its set, from 1. A key belongs to one set
 * only: a node that stays across a rotation takes a new key (a new node beside the one that
 * keeps serving the old set), so that every share a node holds is of one set's M, and a
 * renter combines each set's shares with that set's threshold. A deployment without custody
 * nodes (file keys kept under the service's custody key) starts at epoch 0, no set.
 */
contract CustodyNodeSet is Ownable {
    /// @notice One custody node: the key its shares are sealed to, and where it answers.
    struct Node {
        bytes publicKey; // uncompressed secp256k1: 0x04, then x and y (65 bytes)
        string url;
    }

    /// @notice Most nodes in one set: a share index is one byte.
    uint256 public constant MAX_NODES = 255;

    /// @notice The least M any set may have, fixed at deployment (2 in production: no one
    /// node's operator alone may ever give a key back).
    uint256 public immutable minThreshold;

    /// @notice The set new contributions are split for (0: none yet).
    uint32 public currentEpoch;

    mapping(uint32 epoch => uint8) private _thresholds;
    mapping(uint32 epoch => Node[]) private _nodes;
    mapping(bytes32 publicKeyHash => uint32 epoch) private _epochOfKey;

    /// @notice Set `epoch` (now the current one): any `threshold` of its `count` nodes give a key.
    event NodeSetRecorded(uint32 indexed epoch, uint256 threshold, uint256 count);

    /// @notice A set needs 1 <= `threshold` <= `count` nodes.
    error CustodyNodeSetInvalidThreshold(uint256 threshold, uint256 count);
    /// @notice A set's `threshold` is below the deployment's `minimum`.
    error CustodyNodeSetThresholdBelowMinimum(uint256 threshold, uint256 minimum);
    /// @notice A set has `count` nodes, more than `max`.
    error CustodyNodeSetTooManyNodes(uint256 count, uint256 max);
    /// @notice Node `index` (from 1) has `publicKey`, not an uncompressed secp256k1 key (65 bytes, 0x04 first).
    error CustodyNodeSetInvalidPublicKey(uint256 index, bytes publicKey);
    /// @notice Node `index` (from 1) has the key of an earlier node of the set.
    error CustodyNodeSetRepeatedPublicKey(uint256 index, bytes publicKey);
    /// @notice Node `index` (from 1) has a key of set `epoch`: a key belongs to one set.
    error CustodyNodeSetKeyOfEarlierSet(uint256 index, bytes publicKey, uint32 epoch);
    /// @notice Node `index` (from 1) has no `http://` or `https://` URL.
    error CustodyNodeSetInvalidUrl(uint256 index, string url);
    /// @notice No set `epoch` was recorded (sets run from 1 to `current`).
    error CustodyNodeSetUnknownEpoch(uint32 epoch, uint32 current);

    /**
     * @param timelock The DataTimelock, the only account that sets a new node set.
     * @param minThreshold_ The least M of any set (at least 1).
     * @param threshold M of the first set (0, with no nodes: no set yet).
     * @param nodes The first set's nodes, in share-index order (none: no set yet).
     */
    constructor(address timelock, uint256 minThreshold_, uint256 threshold, Node[] memory nodes)
        Ownable(timelock)
    {
        if (minThreshold_ == 0) revert CustodyNodeSetThresholdBelowMinimum(0, 1);
        minThreshold = minThreshold_;
        if (threshold != 0 || nodes.length != 0) _recordNodeSet(threshold, nodes);
    }

    /**
     * @notice Make a new set the current one: new contributions are split for it, earlier
     * ones stay with their own set.
     * @param threshold M: how many of the nodes give a key.
     * @param nodes The nodes, in share-index order.
     * @return epoch The new set's number.
     */
    function setNodeSet(uint256 threshold, Node[] memory nodes) external onlyOwner returns (uint32 epoch) {
        return _recordNodeSet(threshold, nodes);
    }

    /**
     * @notice The current set, for splitting a new contribution's key.
     * @return epoch Its number (0: no set, and no threshold or nodes).
     * @return threshold M.
     * @return nodes Its nodes, in share-index order.
     */
    function currentNodeSet() external view returns (uint32 epoch, uint8 threshold, Node[] memory nodes) {
        epoch = currentEpoch;
        return (epoch, _thresholds[epoch], _nodes[epoch]);
    }

    /**
     * @notice Set `epoch`, for releasing the contributions split for it.
     * @param epoch A set's number, from 1 to `currentEpoch`.
     * @return threshold M.
     * @return nodes Its nodes, in share-index order.
     */
    function nodeSet(uint32 epoch) external view returns (uint8 threshold, Node[] memory nodes) {
        if (epoch == 0 || epoch > currentEpoch) revert CustodyNodeSetUnknownEpoch(epoch, currentEpoch);
        return (_thresholds[epoch], _nodes[epoch]);
    }

    function _recordNodeSet(uint256 threshold, Node[] memory nodes) internal returns (uint32 epoch) {
        uint256 count = nodes.length;
        if (count > MAX_NODES) revert CustodyNodeSetTooManyNodes(count, MAX_NODES);
        if (threshold == 0 || threshold > count) revert CustodyNodeSetInvalidThreshold(threshold, count);
        if (threshold < minThreshold) revert CustodyNodeSetThresholdBelowMinimum(threshold, minThreshold);
        epoch = currentEpoch + 1;
        for (uint256 i = 0; i < count; ++i) {
            Node memory node = nodes[i];
            if (node.publicKey.length != 65 || node.publicKey[0] != 0x04) {
                revert CustodyNodeSetInvalidPublicKey(i + 1, node.publicKey);
            }
            if (!_isHttpUrl(node.url)) revert CustodyNodeSetInvalidUrl(i + 1, node.url);
            bytes32 keyHash = keccak256(node.publicKey);
            uint32 holder = _epochOfKey[keyHash];
            if (holder == epoch) revert CustodyNodeSetRepeatedPublicKey(i + 1, node.publicKey);
            if (holder != 0) revert CustodyNodeSetKeyOfEarlierSet(i + 1, node.publicKey, holder);
            _epochOfKey[keyHash] = epoch;
            _nodes[epoch].push(node);
        }
        _thresholds[epoch] = uint8(threshold);
        currentEpoch = epoch;
        emit NodeSetRecorded(epoch, threshold, count);
    }

    /// @dev Whether `url` starts with `http://` or `https://` and names something after it
    /// (clients refuse any other, and one such set would stop every renter's fetch).
    function _isHttpUrl(string memory url) private pure returns (bool) {
        bytes memory text = bytes(url);
        return _startsWith(text, "https://") || _startsWith(text, "http://");
    }

    function _startsWith(bytes memory text, bytes memory prefix) private pure returns (bool) {
        if (text.length <= prefix.length) return false;
        for (uint256 i = 0; i < prefix.length; i++) {
            if (text[i] != prefix[i]) return false;
        }
        return true;
    }
}
